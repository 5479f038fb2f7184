import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser } from "playwright-core";
import { freePort } from "../../local/postgres";
import { dotenv } from "../../local/secrets";
import { applyPolicyFile } from "../../local/stack";
import { migrateLocalD1 } from "../../local/d1";
import { ROOT, startWranglerDev, type WranglerDev } from "../../local/wrangler";
import { interceptedCallback, launchChromium, watchPage, within } from "../support/browser";
import { authorizeUrl, listToolNames, newPkce, registerAs, tokenRequest } from "../support/oauth-client";
import type { TestOidcProvider } from "../support/oidc-provider";
import { loopbackTlsFetch } from "../support/tls-fetch";
import { DEPLOYED_HOST, startDeployedWorker, stackWorkerVars } from "../support/deployed-worker";

/**
 * The browser-facing headers on a deployment-like origin: `PUBLIC_ORIGIN=https://gatehouse.test:<port>` (not
 * loopback, so no dev login and no dev endpoints), served by `wrangler dev --local-protocol https` and reached by
 * Chromium through a host-resolver rule. Sign-in goes through the upstream OpenID Connect provider on
 * http://127.0.0.1, a different site, so the request cookie must survive a cross-site redirect back (SameSite=Lax)
 * and is Secure; the forms post with our https origin.
 */
const e2e = inject("e2e");
const HOST = DEPLOYED_HOST;

let dir: string;
let worker: WranglerDev | undefined;
let idp: TestOidcProvider | undefined;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-deployed-"));
  const persistTo = join(dir, "wrangler");
  const stackVars = await stackWorkerVars(e2e.stateDir);
  // D1 gets its schema and the demo policy through a short loopback run (dev endpoints exist only there)…
  await migrateLocalD1(persistTo);
  const setupPort = await freePort();
  const setupEnv = join(dir, "setup.env");
  await writeFile(setupEnv, dotenv({ ...stackVars, PUBLIC_ORIGIN: `http://127.0.0.1:${setupPort}` }), { mode: 0o600 });
  const setup = await startWranglerDev({ port: setupPort, persistTo, envFile: setupEnv });
  try {
    await applyPolicyFile({ workerUrl: setup.url, devSecret: stackVars.DEV_SECRET! }, join(ROOT, "policies/demo.yaml"));
  } finally {
    await setup.stop();
  }
  // …then the same D1 behind a non-loopback https origin with upstream OIDC.
  ({ origin, worker, idp } = await startDeployedWorker({ dir, persistTo, stackVars }));
  browser = await launchChromium([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await idp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("a non-loopback https PUBLIC_ORIGIN in Chromium", () => {
  it("signs in through the upstream IdP across sites: Secure SameSite=Lax cookie survives, forms post our origin, code → token → tools", async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, extraHTTPHeaders: { "cf-connecting-ip": "198.18.2.1" } });
    const page = await context.newPage();
    const watch = watchPage(page);
    const catcher = await interceptedCallback(context, "https://client.example/deployed");
    try {
      const clientId = await registerAs(origin, { client_name: "Deployed", redirect_uris: [catcher.uri] }, { "cf-connecting-ip": "198.18.2.1" }, loopbackTlsFetch);
      const pkce = newPkce();
      const res = await page.goto(authorizeUrl(origin, { clientId, redirectUri: catcher.uri, pkce, state: "dep-1" }).href);
      expect(res?.status()).toBe(200);
      const h = res!.headers();
      expect(h["referrer-policy"]).toBe("same-origin");
      expect(h["cache-control"]).toBe("no-store");
      expect(h["content-security-policy"]).toContain(`form-action 'self' ${idp!.issuer} https://client.example`);
      // No dev login off loopback.
      expect(await page.locator('button[name="email"]').count()).toBe(0);
      const cookie = (await context.cookies()).find((c) => c.name === "gh_authz");
      expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Lax", path: "/authorize" });

      await page.locator("button:has-text('Sign in with Test IdP')").click();
      await page.waitForURL((u) => u.origin === idp!.issuer);
      await page.locator('input[name="login"]').fill("alice@example.com");
      await page.locator('input[name="password"]').fill("alice-pw");
      await page.locator("button:has-text('Sign in')").click();
      await page.locator("button:has-text('Continue')").click();
      // Back across sites at our callback: the cookie came along (else a 403 "not issued to this browser").
      await page.waitForSelector("h1:has-text('Allow')");
      const consent = await page.evaluate(() => location.href);
      expect(new URL(consent).origin).toBe(origin);
      await page.locator('button[name="decision"][value="allow"]').click();
      const back = await within(catcher.received(), 15_000, "the client redirect");
      expect(back.searchParams.get("iss")).toBe(origin);
      expect(back.searchParams.get("state")).toBe("dep-1");
      expect(watch.problems).toEqual([]);
      const posts = watch.requests.filter((r) => r.method() === "POST" && r.url().startsWith(origin));
      expect(posts.map((r) => new URL(r.url()).pathname)).toEqual(["/authorize/oidc", "/authorize/consent"]);
      for (const p of posts) expect(await p.headerValue("origin")).toBe(origin);

      const tokens = await tokenRequest(
        origin,
        { grant_type: "authorization_code", code: back.searchParams.get("code")!, code_verifier: pkce.verifier, redirect_uri: catcher.uri, client_id: clientId },
        loopbackTlsFetch,
      );
      expect(await listToolNames(`${origin}/mcp`, tokens.access_token, loopbackTlsFetch)).toContain("pipeline_coverage");
    } finally {
      await catcher.close();
      await context.close();
    }
  });
});
