import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { freePort } from "../../local/postgres";
import { ROOT } from "../../local/wrangler";
import { launchChromium, watchPage, within } from "../support/browser";

/**
 * README "Rehearse it locally", command by command: `npm run dev:deployed` (a child process on free ports), then
 * in a "second terminal" (the env file it writes, as `source` would apply it): `gatehouse policy bootstrap`,
 * `gatehouse login` with its browser step in Chromium through the local IdP, Wes's write call through the MCP
 * Inspector CLI (signing in as Wes, ticking write), and Maria approving from the deep link in Wes's result in the
 * console. Chromium resolves gatehouse.localhost itself and is told to accept the self-signed certificate (the
 * newcomer clicks through the warning); the CLI and the Inspector trust it through NODE_EXTRA_CA_CERTS only.
 */
const BIN = join(ROOT, "bin/gatehouse.mjs");
const INSPECTOR = join(ROOT, "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");

let dir: string;
let server: ChildProcess | undefined;
let serverExit: Promise<number | null>;
let output = "";
let browser: Browser;
let origin: string;
let password: string;
let shellEnv: NodeJS.ProcessEnv;

/** `export K='v'` lines of the env file, as `source` applies them. */
async function sourced(file: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  }
  return vars;
}

function run(file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd: ROOT, env: { ...shellEnv, ...extraEnv }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Starts a command whose browser step prints a URL; resolves with that URL, the exit code and the output. */
function interactive(file: string, args: string[], urlPattern: RegExp, extraEnv: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [file, ...args], { cwd: ROOT, env: { ...shellEnv, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => (out.stdout += d.toString()));
  const url = new Promise<string>((resolve) => {
    child.stderr.on("data", (d: Buffer) => {
      out.stderr += d.toString();
      const m = urlPattern.exec(out.stderr);
      if (m) resolve(m[1]!);
    });
  });
  const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
  return { child, out, url, exited };
}

/**
 * At the Gatehouse sign-in page: through the local IdP as `email`, then consent ticking `scopes`. With `detach`
 * the final click does not wait for the redirect's page to load (the Inspector's callback listener closes as soon
 * as it has the code).
 */
async function signIn(page: Page, email: string, scopes: string[], detach = false): Promise<void> {
  expect(await page.locator('button[name="email"]').count()).toBe(0); // no dev login off loopback
  await page.locator("button:has-text('Sign in with Local IdP')").click();
  await page.locator('input[name="login"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await page.locator("button:has-text('Sign in')").click();
  await page.locator("button:has-text('Continue')").click();
  await page.waitForSelector("h1:has-text('Allow')");
  for (const scope of scopes) await page.locator(`input[name="scope"][value="${scope}"]`).check();
  const allow = page.locator('button[name="decision"][value="allow"]');
  await (detach ? allow.dispatchEvent("click") : allow.click());
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-dev-deployed-"));
  const ports = { GATEHOUSE_PORT: await freePort(), GATEHOUSE_IDP_PORT: await freePort(), NEON_LOCAL_PORT: await freePort(), PG_PORT: await freePort() };
  const env: NodeJS.ProcessEnv = { ...process.env, GATEHOUSE_STATE_DIR: join(dir, "state"), ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  for (const k of ["GATEHOUSE_TOKEN", "GATEHOUSE_URL", "BOOTSTRAP_TOKEN", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS"]) delete env[k];
  // Its own process group, so the stop below reaches npm, tsx and the script.
  server = spawn("npm", ["run", "-s", "dev:deployed"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  serverExit = new Promise((resolve) => server!.on("exit", (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes("Press Ctrl-C to stop.")) resolve();
      if (output.includes("failed to start")) reject(new Error(output));
    };
    server!.stdout!.on("data", onData);
    server!.stderr!.on("data", onData);
  });
  // Generous: on a loaded machine wrangler applying the D1 migrations alone has taken a minute.
  await within(Promise.race([ready, serverExit.then(() => Promise.reject(new Error(`npm run dev:deployed exited:\n${output}`)))]), 230_000, "npm run dev:deployed to start").catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${output}`);
  });
  origin = /^ {2}Origin +(\S+)/m.exec(output)![1]!;
  password = /password: (\S+)/.exec(output)![1]!;
  const envFile = /^ {2}source (\S+)$/m.exec(output)![1]!;
  shellEnv = { ...env, ...(await sourced(envFile)), HOME: dir, XDG_CONFIG_HOME: join(dir, "config"), NO_COLOR: "1" };
  browser = await launchChromium();
}, 240_000);

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** Polls until no process of the group is left (kill with signal 0 throws ESRCH), or `ms` have passed. */
async function groupGone(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

afterAll(async () => {
  await browser?.close();
  if (server?.pid !== undefined) {
    // The whole process group: npm, the script, Postgres, the endpoint, the IdP and wrangler. npm exits before
    // Postgres has finished its shutdown writes, so wait until every member is gone before removing its directory.
    const pgid = server.pid;
    signalGroup(pgid, "SIGTERM");
    if (!(await groupGone(pgid, 30_000))) {
      signalGroup(pgid, "SIGKILL");
      await groupGone(pgid, 10_000);
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}, 60_000);

describe("README: rehearse the deployment locally (npm run dev:deployed)", () => {
  it("serves a non-loopback https origin with an empty D1 and prints what the next commands need", () => {
    expect(origin).toMatch(/^https:\/\/gatehouse\.localhost:\d+$/);
    expect(output).toMatch(/BOOTSTRAP_TOKEN +[0-9a-f]{64}/);
    for (const user of ["admin@example.com", "maria@example.com", "wes@example.com"]) expect(output).toContain(user);
    expect(output).toContain(`npx gatehouse policy bootstrap policies/demo.yaml --url ${origin}`);
    expect(shellEnv.NODE_EXTRA_CA_CERTS).toMatch(/cert\.pem$/);
  });

  it("1. bootstraps the demo policy with BOOTSTRAP_TOKEN (a wrong token is refused, a second run is refused)", async () => {
    const policy = join(ROOT, "policies/demo.yaml");
    const wrong = await run(BIN, ["policy", "bootstrap", policy, "--url", origin], { BOOTSTRAP_TOKEN: `${shellEnv.BOOTSTRAP_TOKEN}x` });
    expect(wrong.stderr).toContain("refused (401)");
    const ok = await run(BIN, ["policy", "bootstrap", policy, "--url", origin]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^bootstrapped: workspace demo version 1/);
    const again = await run(BIN, ["policy", "bootstrap", policy, "--url", origin]);
    expect(again.stderr).toContain("refused (409)");
  });

  it("2. logs the admin in with the CLI (browser step through the local IdP, Administer ticked); commands then use the stored sign-in", async () => {
    const login = interactive(BIN, ["login", "--url", origin, "--no-browser"], new RegExp(`^(${origin.replace(/[.]/g, "\\.")}/authorize\\?\\S+)$`, "m"));
    try {
      const url = await within(login.url, 30_000, "the authorize URL on the CLI's stderr");
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      const watch = watchPage(page);
      try {
        await page.goto(url);
        await signIn(page, "admin@example.com", ["gatehouse:admin"]);
        await page.waitForSelector("text=Signed in to Gatehouse");
        expect(watch.problems).toEqual([]);
      } finally {
        await context.close();
      }
      expect(await within(login.exited, 30_000, "the CLI to exit after login"), login.out.stderr).toBe(0);
    } finally {
      login.child.kill();
    }
    expect(login.out.stdout).toContain(`signed in to ${origin} as user:admin@example.com (workspace demo, scope gatehouse:admin)`);
    const shown = await run(BIN, ["policy", "show"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^# workspace demo, version 1, applied \S+ by bootstrap/);
  });

  let deepLink: string;
  it("3. Wes's write call through the MCP Inspector (signing in as Wes, ticking write) files an approval request with the console deep link", async () => {
    const callback = `http://127.0.0.1:${await freePort()}/oauth/callback`;
    const args = ["--cli", `${origin}/mcp`, "--method", "tools/call", "--tool-name", "update_opportunity_stage", "--tool-arg", "opportunity_id=48", "stage=negotiation", "--callback-url", callback];
    // No TTY here: MCP_AUTO_OPEN_ENABLED lets the Inspector run its OAuth flow anyway; BROWSER=true makes its
    // browser launch a no-op, and the test opens the printed URL in Chromium instead.
    const inspector = interactive(INSPECTOR, args, /Please navigate to: (\S+)/, { MCP_AUTO_OPEN_ENABLED: "true", BROWSER: "true", MCP_INSPECTOR_SECRET_STORE: "memory" });
    try {
      const url = await within(inspector.url, 30_000, `the Inspector's authorize URL (${inspector.out.stderr})`);
      expect(url.startsWith(`${origin}/authorize?`)).toBe(true);
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      try {
        await page.goto(url);
        await signIn(page, "wes@example.com", ["db:write"], true);
        expect(await within(inspector.exited, 30_000, "the Inspector to exit"), inspector.out.stderr).toBe(0);
      } finally {
        await context.close();
      }
    } finally {
      inspector.child.kill();
    }
    const m = new RegExp(`${origin.replace(/[.]/g, "\\.")}/console/approvals/[\\w-]+`).exec(inspector.out.stdout);
    expect(m, inspector.out.stdout).not.toBeNull();
    expect(inspector.out.stdout).toContain("Approval requested");
    deepLink = m![0];
  });

  it("4. Maria signs in at the deep link (Approve ticked) and approves the request", async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const watch = watchPage(page);
    try {
      await page.goto(deepLink);
      expect(new URL(page.url()).pathname).toBe("/authorize");
      await signIn(page, "maria@example.com", ["gatehouse:approve"]);
      await page.waitForURL(deepLink);
      expect(await page.locator("[data-status]").getAttribute("data-status")).toBe("pending");
      expect(await page.locator('[data-placeholder="$1"]').textContent()).toBe("48");
      await page.getByRole("button", { name: "Approve" }).click();
      await page.waitForLoadState();
      expect(await page.locator("[data-status]").getAttribute("data-status")).toBe("approved");
      expect(watch.problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
