import { spawn, execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser } from "playwright-core";
import { parse, stringify } from "yaml";
import { migrateLocalD1 } from "../../local/d1";
import { ROOT, type WranglerDev } from "../../local/wrangler";
import { launchChromium, watchPage, within } from "../support/browser";
import type { TestOidcProvider } from "../support/oidc-provider";
import { DEPLOYED_HOST, startDeployedWorker, stackWorkerVars } from "../support/deployed-worker";

/**
 * The README's deployment path on a deployment-like origin: `PUBLIC_ORIGIN=https://gatehouse.test:<port>` (not
 * loopback: no dev login, no dev endpoints) over an EMPTY D1 (schema only, no policy), upstream OpenID Connect for
 * sign-in. Then, as the README says: `gatehouse policy bootstrap` with BOOTSTRAP_TOKEN, `gatehouse login` (browser
 * step in Chromium through the IdP), and a server command on the stored sign-in. The CLI reaches the name through a
 * test-only preload (gatehouse.test → 127.0.0.1, wrangler's self-signed certificate accepted for that name only).
 */
const e2e = inject("e2e");
const HOST = DEPLOYED_HOST;
const BOOTSTRAP_TOKEN = `bt-${"0123456789abcdef".repeat(3)}`;
const BIN = join(ROOT, "bin/gatehouse.mjs");

let dir: string;
let worker: WranglerDev | undefined;
let idp: TestOidcProvider | undefined;
let browser: Browser;
let origin: string;
let cliEnv: NodeJS.ProcessEnv;
let policyFile: string;

const PRELOAD = `import dns from "node:dns";
import tls from "node:tls";
// Test only: ${HOST} is 127.0.0.1, and its self-signed certificate (wrangler dev --local-protocol https) is accepted.
const lookup = dns.lookup;
dns.lookup = function (host, ...rest) { return lookup.call(this, host === "${HOST}" ? "127.0.0.1" : host, ...rest); };
const connect = tls.connect;
tls.connect = function (...args) {
  const o = args.find((a) => a && typeof a === "object");
  if (o && o.servername === "${HOST}") o.rejectUnauthorized = false;
  return connect.apply(this, args);
};
`;

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...cliEnv, ...extraEnv }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-deploy-path-"));
  const persistTo = join(dir, "wrangler");
  const stackVars = await stackWorkerVars(e2e.stateDir);
  // The deployment path's D1 step: the migrations, and nothing else.
  await migrateLocalD1(persistTo);
  ({ origin, worker, idp } = await startDeployedWorker({ dir, persistTo, stackVars, extraVars: { BOOTSTRAP_TOKEN } }));
  browser = await launchChromium([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
  // The first policy: the demo's, with Alice (a user at the test IdP) as the admin.
  const demo = parse(await readFile(join(ROOT, "policies/demo.yaml"), "utf8")) as { users: Array<{ email: string; groups?: string[] }> };
  for (const u of demo.users) if (u.email === "alice@example.com") u.groups = [...(u.groups ?? []), "admins"];
  policyFile = join(dir, "policy.yaml");
  await writeFile(policyFile, stringify(demo));
  const preload = join(dir, "resolve-gatehouse-test.mjs");
  await writeFile(preload, PRELOAD);
  cliEnv = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, "config"), NODE_OPTIONS: `--import ${preload}` };
  for (const k of ["GATEHOUSE_TOKEN", "GATEHOUSE_URL", "GATEHOUSE_DEV_SECRET", "BOOTSTRAP_TOKEN"]) delete cliEnv[k];
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await idp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("deploy → bootstrap → login on a non-loopback https origin", () => {
  it("bootstraps the first policy once with BOOTSTRAP_TOKEN (a wrong token and a second run are refused)", async () => {
    const wrong = await cli(["policy", "bootstrap", policyFile, "--url", origin], { BOOTSTRAP_TOKEN: `${BOOTSTRAP_TOKEN}x` });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("refused (401)");
    const ok = await cli(["policy", "bootstrap", policyFile, "--url", origin], { BOOTSTRAP_TOKEN });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^bootstrapped: workspace demo version 1/);
    const again = await cli(["policy", "bootstrap", policyFile, "--url", origin], { BOOTSTRAP_TOKEN });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("refused (409)");
  });

  it("logs in through the upstream IdP in the browser, then runs admin commands on the stored sign-in", async () => {
    const child = spawn(process.execPath, [BIN, "login", "--url", origin, "--no-browser"], { cwd: ROOT, env: cliEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const printed = new Promise<string>((resolve) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        const m = new RegExp(`^(${origin.replace(/[.]/g, "\\.")}/authorize\\?\\S+)$`, "m").exec(stderr);
        if (m) resolve(m[1]!);
      });
    });
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
    try {
      const url = await within(printed, 30_000, `the authorize URL on the CLI's stderr (${stderr})`);
      const context = await browser.newContext({ ignoreHTTPSErrors: true, extraHTTPHeaders: { "cf-connecting-ip": "198.18.6.1" } });
      const page = await context.newPage();
      const watch = watchPage(page);
      try {
        await page.goto(url);
        expect(await page.locator('button[name="email"]').count()).toBe(0); // no dev login off loopback
        await page.locator("button:has-text('Sign in with Test IdP')").click();
        await page.waitForURL((u) => u.origin === idp!.issuer);
        await page.locator('input[name="login"]').fill("alice@example.com");
        await page.locator('input[name="password"]').fill("alice-pw");
        await page.locator("button:has-text('Sign in')").click();
        await page.locator("button:has-text('Continue')").click();
        await page.waitForSelector("h1:has-text('Allow')");
        await page.locator('input[name="scope"][value="gatehouse:admin"]').check();
        await page.locator('button[name="decision"][value="allow"]').click();
        await page.waitForSelector("text=Signed in to Gatehouse");
        expect(watch.problems).toEqual([]);
      } finally {
        await context.close();
      }
      expect(await within(exited, 30_000, "the CLI to exit after login"), stderr).toBe(0);
    } finally {
      child.kill();
    }
    expect(stdout).toContain(`signed in to ${origin} as user:alice@example.com (workspace demo, scope gatehouse:admin)`);

    const shown = await cli(["policy", "show"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^# workspace demo, version 1, applied \S+ by bootstrap/);
    const out = await cli(["logout"]);
    expect(out.code, out.stderr).toBe(0);
  });
});
