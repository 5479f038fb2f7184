// local/postgres.ts: the embedded Postgres used by dev and tests listens on 127.0.0.1 only with scram-sha-256,
// reuses its data directory, restarts right after its previous process group was killed, refuses to share a
// data directory with a live server, and stops for real.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { freePort, startPostgres } from "../../local/postgres";
import { withSuperuser } from "./neon-http-helpers";

const HOLDER = fileURLToPath(new URL("./fixtures/hold-postgres.ts", import.meta.url));

describe("startPostgres", () => {
  it("listens on 127.0.0.1 only, with no Unix socket, scram-sha-256 everywhere and UTF-8", async () => {
    const settings = await withSuperuser(async (admin) => {
      const { rows } = await admin.query(`
        SELECT current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets,
               current_setting('server_encoding') AS encoding, current_setting('password_encryption') AS hashing,
               (SELECT array_agg(DISTINCT auth_method) FROM pg_hba_file_rules) AS methods,
               (SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'postgres') AS hashed`);
      return rows[0];
    });
    expect(settings).toEqual({
      listen: "127.0.0.1",
      sockets: "",
      encoding: "UTF8",
      hashing: "scram-sha-256",
      methods: ["scram-sha-256"],
      hashed: true,
    });
  });

  it("reuses its data directory, restarts right after a kill -9 of the previous process group, and stops", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "gatehouse-launcher-"));
    const dataDir = join(scratch, "postgres");
    const password = randomBytes(12).toString("base64url");
    let holder: ChildProcess | undefined;
    try {
      holder = spawn(process.execPath, ["--import", "tsx", HOLDER, dataDir, String(await freePort()), password], {
        detached: true,
        stdio: ["ignore", "pipe", "inherit"],
      });
      const firstUrl = await readyUrl(holder);
      await withClient(firstUrl, (client) => client.query("CREATE TABLE kept AS SELECT 'survives' AS v"));
      const firstPid = await postmasterPid(dataDir);

      await expect(startPostgres({ dataDir, port: await freePort() })).rejects.toThrow(/already running/);

      process.kill(-holder.pid!, "SIGKILL");
      const restarted = await startPostgres({ dataDir, port: await freePort() });
      const restartedPid = await postmasterPid(dataDir);
      try {
        expect(new URL(restarted.superuserUrl).password).toBe(password);
        expect(await withClient(restarted.superuserUrl, (client) => client.query("SELECT v FROM kept"))).toMatchObject({
          rows: [{ v: "survives" }],
        });
        expect(restartedPid).not.toBe(firstPid);
        expect(alive(firstPid)).toBe(false);
      } finally {
        await restarted.stop();
      }
      expect(alive(restartedPid)).toBe(false);
      expect(existsSync(join(dataDir, "postmaster.pid"))).toBe(false);
      await expect(withClient(restarted.superuserUrl, (client) => client.query("SELECT 1"))).rejects.toThrow(/ECONNREFUSED/);

      await expect(startPostgres({ dataDir, port: await freePort(), superuserPassword: "another" })).rejects.toThrow(/different superuser password/);
    } finally {
      if (holder?.pid && holder.exitCode === null && holder.signalCode === null) {
        try {
          process.kill(-holder.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

function readyUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY (\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`postgres holder exited (${code}) before it was ready`)));
  });
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
