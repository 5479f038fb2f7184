import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext } from "playwright-core";
import { launchChromium, loopbackCallback, watchPage, within, type CallbackCatcher } from "../support/browser";
import { authorizeUrl, listToolNames, newPkce, tokenRequest } from "../support/oauth-client";
import { readLocalD1 } from "../support/d1";

/**
 * A Client ID Metadata Document client signing in end to end, in Chromium against the dev stack: the client's
 * metadata document is served by a real HTTP server on 127.0.0.1 (the stack's issuer is loopback, the one case in
 * which a loopback document URL is fetched), and its URL is the client_id. No registration anywhere.
 */
const e2e = inject("e2e");
const ALICE_TOOLS = ["pipeline_coverage", "revenue_summary"];

let browser: Browser;
let docs: Server;
let docOrigin = "";
const served: Record<string, () => { status?: number; headers?: Record<string, string>; body: string }> = {};
const fetches: Record<string, number> = {};

beforeAll(async () => {
  browser = await launchChromium();
  docs = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    fetches[path] = (fetches[path] ?? 0) + 1;
    const answer = served[path]?.() ?? { status: 404, body: "{}" };
    res.writeHead(answer.status ?? 200, { "Content-Type": "application/json", ...answer.headers });
    res.end(answer.body);
  });
  await new Promise<void>((r) => docs.listen({ host: "127.0.0.1", port: 0 }, () => r()));
  docOrigin = `http://127.0.0.1:${(docs.address() as { port: number }).port}`;
});

afterAll(async () => {
  await browser?.close();
  docs?.closeAllConnections();
  await new Promise<void>((r) => (docs ? docs.close(() => r()) : r()));
});

async function newContext(ip: string): Promise<BrowserContext> {
  return browser.newContext({ extraHTTPHeaders: { "cf-connecting-ip": ip } });
}

describe("Client ID Metadata Documents in Chromium", () => {
  it("a CIMD client signs in: /authorize with its document URL → dev login → consent showing the host → code → token with client_id=URL → tools/list → refresh; the document is fetched once and then served from cache", async () => {
    const context = await newContext("198.18.9.1");
    const page = await context.newPage();
    const watch = watchPage(page);
    const catcher: CallbackCatcher = await loopbackCallback();
    const clientId = `${docOrigin}/apps/cimd-e2e/client.json`;
    served["/apps/cimd-e2e/client.json"] = () => ({
      headers: { "Cache-Control": "max-age=300" },
      body: JSON.stringify({
        client_id: clientId,
        client_name: "CIMD e2e client",
        redirect_uris: [catcher.uri],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
      }),
    });
    try {
      const pkce = newPkce();
      const url = authorizeUrl(e2e.workerUrl, { clientId, redirectUri: catcher.uri, pkce, state: "cimd-1", resource: e2e.mcpUrl });
      const login = await page.goto(url.href);
      expect(login?.status(), await login?.text()).toBe(200);
      const host = new URL(docOrigin).host;
      expect(await page.locator(".host strong").textContent()).toBe(host);
      await page.locator('button[name="email"][value="alice@example.com"]').click();
      await page.waitForSelector("h1:has-text('Allow')");
      expect(await page.locator("h1").textContent()).toBe(`Allow CIMD e2e client from ${host}?`);
      expect(await page.locator(".host").getAttribute("data-client-host")).toBe(host);
      await page.locator('button[name="decision"][value="allow"]').click();
      const back = await within(catcher.received(), 15_000, "the CIMD client's redirect");
      expect(back.searchParams.get("error"), back.href).toBeNull();
      expect(back.searchParams.get("state")).toBe("cimd-1");
      expect(watch.problems).toEqual([]);

      const tokens = await tokenRequest(e2e.workerUrl, {
        grant_type: "authorization_code",
        code: back.searchParams.get("code")!,
        code_verifier: pkce.verifier,
        redirect_uri: catcher.uri,
        client_id: clientId,
        resource: e2e.mcpUrl,
      });
      expect(tokens.scope).toBe("db:read");
      expect(await listToolNames(e2e.mcpUrl, tokens.access_token)).toEqual(ALICE_TOOLS);
      const refreshed = await tokenRequest(e2e.workerUrl, { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: clientId, resource: e2e.mcpUrl });
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect(await listToolNames(e2e.mcpUrl, refreshed.access_token)).toEqual(ALICE_TOOLS);
      expect(fetches["/apps/cimd-e2e/client.json"]).toBe(1);

      // A second sign-in within the document's max-age uses the stored copy.
      const again = await page.goto(authorizeUrl(e2e.workerUrl, { clientId, redirectUri: catcher.uri, pkce: newPkce(), state: "cimd-2" }).href);
      expect(again?.status()).toBe(200);
      expect(fetches["/apps/cimd-e2e/client.json"]).toBe(1);

      const audit = await readLocalD1<{ event: string; outcome: string; rule: string | null; detail: string | null }>(
        e2e.stateDir,
        `SELECT event, outcome, rule, detail FROM audit_events WHERE client_id = '${clientId}' AND event IN ('oauth.client_document', 'token.issued', 'token.refreshed') ORDER BY seq`,
      );
      expect(audit).toEqual([
        { event: "oauth.client_document", outcome: "ok", rule: "fetched", detail: "CIMD e2e client (fresh 300 s)" },
        { event: "token.issued", outcome: "ok", rule: "authorization_code", detail: "db:read" },
        { event: "token.refreshed", outcome: "ok", rule: null, detail: "db:read" },
      ]);
    } finally {
      await catcher.close();
      await context.close();
    }
  });

  it("a document naming another client_id, one that redirects, and one with a secret: an error page each, no redirect to the client", async () => {
    const context = await newContext("198.18.9.2");
    const page = await context.newPage();
    const catcher = await loopbackCallback();
    let redirected = false;
    void catcher.received().then(() => (redirected = true));
    const cases: Array<[string, () => { status?: number; headers?: Record<string, string>; body: string }]> = [
      ["/bad/impostor.json", () => ({ body: JSON.stringify({ client_id: `${docOrigin}/apps/cimd-e2e/client.json`, client_name: "Impostor", redirect_uris: [catcher.uri] }) })],
      ["/bad/moved.json", () => ({ status: 302, headers: { Location: `${docOrigin}/bad/impostor.json` }, body: "" })],
      [
        "/bad/secret.json",
        () => ({ body: JSON.stringify({ client_id: `${docOrigin}/bad/secret.json`, redirect_uris: [catcher.uri], client_secret: "s", token_endpoint_auth_method: "client_secret_basic" }) }),
      ],
    ];
    try {
      for (const [path, answer] of cases) {
        served[path] = answer;
        const res = await page.goto(authorizeUrl(e2e.workerUrl, { clientId: `${docOrigin}${path}`, redirectUri: catcher.uri, pkce: newPkce(), state: "bad" }).href);
        expect(res?.status(), path).toBe(400);
        expect(await page.locator("h1").textContent()).toBe("Sign-in problem");
        expect(new URL(page.url()).origin).toBe(e2e.workerUrl);
      }
      expect(redirected).toBe(false);
      const rules = await readLocalD1<{ client_id: string; rule: string }>(
        e2e.stateDir,
        "SELECT client_id, rule FROM audit_events WHERE event = 'oauth.client_document' AND outcome = 'denied' AND client_id LIKE '%/bad/%' ORDER BY seq",
      );
      expect(rules.map((r) => [new URL(r.client_id).pathname, r.rule])).toEqual([
        ["/bad/impostor.json", "cimd_doc_client_id_mismatch"],
        ["/bad/moved.json", "cimd_fetch_redirect"],
        ["/bad/secret.json", "cimd_doc_has_client_secret"],
      ]);
    } finally {
      await catcher.close();
      await context.close();
    }
  });
});
