import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentialsPath, readCredentials, updateCredentials, writeCredentials, type StoredLogin } from "../../../cli/credentials";

let dir: string;
let path: string;

const login = (url: string, refresh: string): StoredLogin => ({
  url,
  issuer: url,
  token_endpoint: `${url}/token`,
  resource: `${url}/mcp`,
  client_id: "c1",
  refresh_token: refresh,
  scope: "gatehouse:admin",
  saved_at: "2026-01-01T00:00:00.000Z",
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-creds-"));
  path = join(dir, "config", "gatehouse", "credentials.json");
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe("CLI credentials file", () => {
  it("lives under XDG_CONFIG_HOME when it is absolute, else ~/.config", () => {
    expect(credentialsPath({ XDG_CONFIG_HOME: "/x/cfg", HOME: "/home/u" })).toBe("/x/cfg/gatehouse/credentials.json");
    expect(credentialsPath({ XDG_CONFIG_HOME: "relative", HOME: "/home/u" })).toBe("/home/u/.config/gatehouse/credentials.json");
    expect(credentialsPath({ HOME: "/home/u" })).toBe("/home/u/.config/gatehouse/credentials.json");
  });

  it("writes the file 0600 in a 0700 directory (tightening an existing one), atomically, leaving no temp file", async () => {
    await mkdir(join(dir, "config", "gatehouse"), { recursive: true, mode: 0o755 });
    await writeCredentials({ version: 1, current: "https://a", logins: { "https://a": login("https://a", "r1") } }, path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "config", "gatehouse"))).mode & 0o777).toBe(0o700);
    await updateCredentials((f) => {
      f.logins["https://a"]!.refresh_token = "r2";
    }, path);
    expect((await readCredentials(path)).logins["https://a"]!.refresh_token).toBe("r2");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, "config", "gatehouse"))).toEqual(["credentials.json"]);
  });

  it("keeps other URLs' sign-ins on update, and deletes the file when the last one goes", async () => {
    await writeCredentials({ version: 1, logins: { "https://a": login("https://a", "ra"), "https://b": login("https://b", "rb") } }, path);
    await updateCredentials((f) => void delete f.logins["https://a"], path);
    expect(Object.keys((await readCredentials(path)).logins)).toEqual(["https://b"]);
    await updateCredentials((f) => void delete f.logins["https://b"], path);
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
    expect(await readCredentials(path)).toEqual({ version: 1, logins: {} });
  });

  it("tightens a file others could read before using it", async () => {
    await writeCredentials({ version: 1, logins: { "https://a": login("https://a", "ra") } }, path);
    await chmod(path, 0o644);
    expect((await readCredentials(path)).logins["https://a"]!.refresh_token).toBe("ra");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("refuses a corrupt file with a clear message", async () => {
    await mkdir(join(dir, "config", "gatehouse"), { recursive: true });
    await writeFile(path, "{not json", { mode: 0o600 });
    await expect(readCredentials(path)).rejects.toThrow(/not valid JSON/);
    expect(await readFile(path, "utf8")).toBe("{not json");
  });
});
