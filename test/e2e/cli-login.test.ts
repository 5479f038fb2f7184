import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { spawn, execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { launchChromium, watchPage, within } from "../support/browser";
import { devPost } from "../../local/stack";
import { uniqueClientIp } from "../support/client-ip";

/**
 * `gatehouse login` end to end: the real CLI as a child process with an empty config dir and no GATEHOUSE_TOKEN,
 * its browser step driven in Chromium (dev login → consent with the admin scope ticked → Allow), the answer
 * caught by the CLI's own loopback listener; then server commands on the stored sign-in, silent refresh past
 * the access token's lifetime, and `gatehouse logout` revoking it.
 */
const e2e = inject("e2e");
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin/gatehouse.mjs");

let browser: Browser;
let home: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  browser = await launchChromium();
  home = await mkdtemp(join(tmpdir(), "gatehouse-cli-login-"));
  // Test only: the CLI acts from its own address, so its registration has its own per-IP budget (client-ip.ts).
  const preload = join(home, "client-ip.mjs");
  await writeFile(
    preload,
    `const f = globalThis.fetch;\nglobalThis.fetch = (input, init = {}) => { const h = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined)); h.set("cf-connecting-ip", "${uniqueClientIp()}"); return f(input, { ...init, headers: h }); };\n`,
  );
  env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, "config"), NODE_OPTIONS: `--import ${preload}` };
  delete env.GATEHOUSE_TOKEN;
  delete env.GATEHOUSE_URL;
  delete env.GATEHOUSE_DEV_SECRET;
});

afterAll(async () => {
  await browser?.close();
  await rm(home, { recursive: true, force: true });
});

afterEach(async () => void (await devPost(e2e, "/dev/clock", { offset_seconds: 0 })));

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const credentialsFile = () => join(home, "config", "gatehouse", "credentials.json");
const stored = async () =>
  JSON.parse(await readFile(credentialsFile(), "utf8")) as { current: string; logins: Record<string, { refresh_token: string; client_id: string; scope: string; subject: string }> };

async function refreshAt(refreshToken: string, clientId: string): Promise<{ status: number; error?: string }> {
  const res = await fetch(`${e2e.workerUrl}/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId }).toString(),
  });
  return { status: res.status, error: ((await res.json()) as { error?: string }).error };
}

describe("gatehouse policy bootstrap", () => {
  it("needs BOOTSTRAP_TOKEN, and against a deployment that has a policy is refused (409) and applies nothing", async () => {
    const missing = await cli(["policy", "bootstrap", join(ROOT, "policies/demo.yaml"), "--url", e2e.workerUrl]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("BOOTSTRAP_TOKEN");
    const before = await cli(["policy", "show", "--dev", "--url", e2e.workerUrl], { GATEHOUSE_DEV_SECRET: e2e.devSecret });
    const refused = await cli(["policy", "bootstrap", join(ROOT, "policies/demo.yaml"), "--url", e2e.workerUrl], { BOOTSTRAP_TOKEN: "x".repeat(64) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^refused \(409\): A policy already exists/);
    const after = await cli(["policy", "show", "--dev", "--url", e2e.workerUrl], { GATEHOUSE_DEV_SECRET: e2e.devSecret });
    expect(after.stdout.split("\n")[0]).toBe(before.stdout.split("\n")[0]);
  });
});

describe("gatehouse login / logout", () => {
  it("signs in through the browser with a loopback redirect, stores only a refresh token (0600), runs server commands without GATEHOUSE_TOKEN, refreshes silently, and logout revokes", async () => {
    // 1. Login, with the browser step done by Chromium from the URL the CLI prints.
    const child = spawn(process.execPath, [BIN, "login", "--url", e2e.workerUrl, "--no-browser"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const printed = new Promise<string>((resolve) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        const m = /^(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)$/m.exec(stderr);
        if (m) resolve(m[1]!);
      });
    });
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
    try {
      const url = new URL(await within(printed, 30_000, "the authorize URL on the CLI's stderr"));
      expect(url.origin).toBe(e2e.workerUrl);
      expect(url.searchParams.get("code_challenge_method")).toBe("S256");
      expect(url.searchParams.get("scope")).toBe("gatehouse:admin gatehouse:approve");
      expect(url.searchParams.get("resource")).toBe(e2e.mcpUrl);
      expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

      const context = await browser.newContext({ extraHTTPHeaders: { "cf-connecting-ip": "198.18.5.1" } });
      const page = await context.newPage();
      const watch = watchPage(page);
      try {
        await page.goto(url.href);
        await page.locator('button[name="email"][value="admin@example.com"]').click();
        await page.waitForSelector("h1:has-text('Allow')");
        // The gateway's own scopes are offered because the CLI asked, and only admin to this user; never preselected.
        const admin = page.locator('input[name="scope"][value="gatehouse:admin"]');
        expect(await admin.isChecked()).toBe(false);
        expect(await page.locator('input[name="scope"][value="gatehouse:approve"]').count()).toBe(0);
        await admin.check();
        await page.locator('button[name="decision"][value="allow"]').click();
        await page.waitForSelector("text=Signed in to Gatehouse");
        expect(new URL(page.url()).origin).toBe(new URL(url.searchParams.get("redirect_uri")!).origin);
        expect(watch.problems).toEqual([]);
      } finally {
        await context.close();
      }
      expect(await within(exited, 30_000, "the CLI to exit after login"), stderr).toBe(0);
    } finally {
      child.kill();
    }
    expect(stdout).toContain(`signed in to ${e2e.workerUrl} as user:admin@example.com`);
    expect(stdout).toContain("scope gatehouse:admin");

    // 2. What is stored: a 0600 file in a 0700 directory, the refresh token and client id, never an access token.
    expect((await stat(credentialsFile())).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, "config", "gatehouse"))).mode & 0o777).toBe(0o700);
    const text = await readFile(credentialsFile(), "utf8");
    expect(text).not.toMatch(/access_token|eyJ[\w-]+\.eyJ/);
    const first = await stored();
    expect(first.current).toBe(e2e.workerUrl);
    const login = first.logins[e2e.workerUrl]!;
    expect(login.scope).toBe("gatehouse:admin");
    expect(login.refresh_token.length).toBeGreaterThan(20);

    // 3. A server command with no GATEHOUSE_TOKEN and no --url: the stored sign-in for the latest login's URL.
    const shown = await cli(["policy", "show"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^# workspace demo, version \d+/);
    const rotated = (await stored()).logins[e2e.workerUrl]!.refresh_token;
    expect(rotated).not.toBe(login.refresh_token);
    expect((await stat(credentialsFile())).mode & 0o777).toBe(0o600);

    // 4. Ten minutes later every access token issued so far has expired (admin scope: 5 minutes); the next command
    //    refreshes silently and saves the rotated refresh token.
    await devPost(e2e, "/dev/clock", { offset_seconds: 600 });
    const later = await cli(["audit", "verify", "--url", e2e.workerUrl]);
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toContain("audit chain OK");
    const afterExpiry = (await stored()).logins[e2e.workerUrl]!.refresh_token;
    expect(afterExpiry).not.toBe(rotated);

    // GATEHOUSE_TOKEN stays an override for automation: a bad one is used (and refused), not the stored sign-in.
    const overridden = await cli(["policy", "show"], { GATEHOUSE_TOKEN: "not-a-token" });
    expect(overridden.code).not.toBe(0);
    expect((await stored()).logins[e2e.workerUrl]!.refresh_token).toBe(afterExpiry);

    // 5. Logout revokes the refresh token at /revoke and deletes the file; the token is dead at /token.
    const out = await cli(["logout"]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain("refresh token revoked");
    await expect(stat(credentialsFile())).rejects.toThrow(/ENOENT/);
    expect(await refreshAt(afterExpiry, login.client_id)).toEqual({ status: 400, error: "invalid_grant" });
    const none = await cli(["policy", "show", "--url", e2e.workerUrl]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("not signed in");
  });
});
