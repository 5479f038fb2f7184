import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { upsertDocumentClient } from "../../src/oauth/store-d1";
import { nowSeconds } from "../../src/lib/clock";
import {
  ORIGIN,
  authorize,
  authorizeQuery,
  expectOAuthError,
  expectTokens,
  exchange,
  get,
  login,
  pkce,
  postConsent,
  expectRedirect,
  readJson,
  refresh,
  setClock,
  startAuthorize,
  toolNames,
  unique,
} from "./oauth-helpers";

/**
 * Client ID Metadata Documents at the Worker (src/oauth/cimd-client.ts), with real D1. The Worker under test cannot
 * reach a server of the test's own, so the fetched-and-stored state is set up with the same store function the
 * fetch path uses; the fetch itself runs against a real server in test/e2e/cimd.test.ts and
 * test/unit/oauth/cimd-fetch.test.ts. Here: the advertisement, every refusal before or at the fetch (error page,
 * never a redirect, audited with its reason), use of a fresh stored document, refetch of a stale one, and the
 * URL client_id at /token.
 */

const CALLBACK = "https://client.example/cb";

async function storedDocumentClient(opts: { name?: string; freshFor?: number; redirectUris?: string[] } = {}): Promise<string> {
  // Longer than a registered id may be (100), as document URLs often are.
  const id = `https://client.example/${unique("cimd")}/${"deep/".repeat(16)}metadata.json`;
  const now = nowSeconds();
  await upsertDocumentClient(
    env.DB,
    {
      client_id: id,
      client_name: opts.name ?? "Example Client",
      redirect_uris: opts.redirectUris ?? [CALLBACK],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    },
    now,
    now + (opts.freshFor ?? 600),
  );
  return id;
}

async function auditRule(clientId: string): Promise<Array<{ event: string; outcome: string; rule: string }>> {
  return (await env.DB.prepare("SELECT event, outcome, rule FROM audit_events WHERE client_id = ? ORDER BY seq").bind(clientId).all<{ event: string; outcome: string; rule: string }>()).results;
}

async function errorPage(res: Response, status: number): Promise<string> {
  const html = await res.text();
  expect(res.status, html.slice(0, 300)).toBe(status);
  expect(res.headers.get("location")).toBeNull();
  expect(res.headers.get("set-cookie")).toBeNull();
  expect(html).toContain("Sign-in problem");
  return html;
}

afterEach(async () => {
  await setClock(0);
});

describe("Client ID Metadata Documents", () => {
  it("the authorization server metadata advertises client_id_metadata_document_supported", async () => {
    const { status, body } = await readJson(await get("/.well-known/oauth-authorization-server"));
    expect(status).toBe(200);
    expect(body.client_id_metadata_document_supported).toBe(true);
    expect(body.registration_endpoint).toBe(`${ORIGIN}/register`); // DCR stays for older clients
  });

  it.each([
    ["an IP literal", "https://10.1.2.3/metadata.json", "cimd_url_ip_literal"],
    ["the cloud metadata address", "https://169.254.169.254/latest/meta-data", "cimd_url_ip_literal"],
    ["a local-only name", "https://metadata.google.internal/computeMetadata/v1", "cimd_url_local_name"],
    ["http on a public host", "http://client.example/metadata.json", "cimd_url_not_https"],
    ["a fragment", "https://client.example/metadata.json#frag", "cimd_url_fragment"],
    ["no path", "https://client.example/", "cimd_url_no_path"],
  ])("refuses %s as a client_id before any fetch: an error page, audited with the reason, not a redirect", async (_name, clientId, rule) => {
    const p = await pkce();
    const res = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK, code_challenge: p.challenge, state: "s" }));
    await errorPage(res, 400);
    expect(await auditRule(clientId)).toEqual([{ event: "oauth.client_document", outcome: "denied", rule }]);
  });

  it("an unreachable document (loopback issuer: a loopback URL is fetched) gives a 502 error page, audited as fetch_failed, and stores nothing", async () => {
    const clientId = `http://127.0.0.1:9/${unique("gone")}/metadata.json`;
    const p = await pkce();
    const res = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK, code_challenge: p.challenge, state: "s" }));
    const html = await errorPage(res, 502);
    expect(html).toContain("127.0.0.1:9");
    expect(await auditRule(clientId)).toEqual([{ event: "oauth.client_document", outcome: "error", rule: "cimd_fetch_failed" }]);
    expect(await env.DB.prepare("SELECT 1 FROM oauth_clients WHERE client_id = ?").bind(clientId).first()).toBeNull();
  });

  it("a fresh stored document is used without a fetch: login and consent pages show the document's host; code → token with the URL client_id → tools → refresh", async () => {
    const clientId = await storedDocumentClient({ name: "Totally Official App" });
    const flow = await startAuthorize({ clientId, redirectUri: CALLBACK });
    expect(flow.html).toContain('data-client-host="client.example"');
    expect(flow.html).toContain("App published by <strong>client.example</strong>");
    const consent = await login(flow);
    expect(consent).toContain("Allow Totally Official App from client.example?");
    expect(consent).toContain('data-client-host="client.example"');
    const { params } = expectRedirect(await postConsent(flow), CALLBACK);
    const tokens = await expectTokens(await exchange({ ...flow, code: params.get("code")! }));
    expect(await toolNames(tokens.access_token)).toEqual(["pipeline_coverage", "revenue_summary"]);
    const again = await expectTokens(await refresh(clientId, tokens.refresh_token));
    expect(again.refresh_token).not.toBe(tokens.refresh_token);
    expect(await toolNames(again.access_token)).toEqual(["pipeline_coverage", "revenue_summary"]);
  });

  it("a redirect URI the document does not list gets an error page, never a redirect", async () => {
    const clientId = await storedDocumentClient();
    const p = await pkce();
    const res = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: "https://attacker.example/cb", code_challenge: p.challenge, state: "s" }));
    await errorPage(res, 400);
  });

  it("a stale stored document is fetched again, and its stale copy is not used when that fails", async () => {
    const clientId = `http://127.0.0.1:9/${unique("stale")}/metadata.json`;
    const now = nowSeconds();
    await upsertDocumentClient(
      env.DB,
      { client_id: clientId, client_name: "Stale", redirect_uris: [CALLBACK], grant_types: ["authorization_code"], response_types: ["code"], token_endpoint_auth_method: "none" },
      now - 700,
      now - 100,
    );
    const p = await pkce();
    await errorPage(await authorize(authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK, code_challenge: p.challenge, state: "s" })), 502);
    expect(await auditRule(clientId)).toEqual([{ event: "oauth.client_document", outcome: "error", rule: "cimd_fetch_failed" }]);
  });

  it("a stored document goes stale by the clock (dev clock past its freshness): the next sign-in refetches", async () => {
    const clientId = `http://127.0.0.1:9/${unique("ages")}/metadata.json`;
    const now = nowSeconds();
    await upsertDocumentClient(
      env.DB,
      { client_id: clientId, redirect_uris: [CALLBACK], grant_types: ["authorization_code"], response_types: ["code"], token_endpoint_auth_method: "none" },
      now,
      now + 120,
    );
    const p = await pkce();
    const q = authorizeQuery({ client_id: clientId, redirect_uri: CALLBACK, code_challenge: p.challenge, state: "s" });
    const fresh = await authorize(q);
    expect(fresh.status).toBe(200);
    await fresh.body?.cancel();
    await setClock(121);
    await errorPage(await authorize(q), 502);
  });

  it("/token refuses a URL client_id that no sign-in fetched, and a registered id's length limit still applies to others", async () => {
    await expectOAuthError(await refresh("https://never.example/metadata.json", "ghr_x"), 401, "invalid_client");
    await expectOAuthError(await refresh(`ghcl_${"x".repeat(200)}`, "ghr_x"), 401, "invalid_client");
  });

  it("a code issued to one document client cannot be redeemed by another", async () => {
    const a = await storedDocumentClient();
    const b = await storedDocumentClient();
    const flow = await startAuthorize({ clientId: a, redirectUri: CALLBACK });
    await login(flow);
    const { params } = expectRedirect(await postConsent(flow), CALLBACK);
    await expectOAuthError(await exchange({ ...flow, code: params.get("code")! }, { client_id: b }), 400, "invalid_grant");
  });
});
