import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { REDIRECT, expectOAuthError, freshIp, readJson, register, unique } from "./oauth-helpers";
import { inOneRateWindow } from "../support/rate-window";

async function clientCount(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM oauth_clients").first<{ n: number }>())!.n;
}

describe("POST /register (RFC 7591)", () => {
  it("registers a public client without scope: 201, no secret, metadata echoed", async () => {
    const name = unique("ChatGPT");
    const res = await register({ client_name: name, redirect_uris: ["https://chatgpt.com/connector_platform_oauth_redirect"] });
    const { status, body } = await readJson(res);
    expect(status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(body.client_id).toMatch(/^ghcl_/);
    expect(body).not.toHaveProperty("client_secret");
    expect(body).toMatchObject({
      client_name: name,
      redirect_uris: ["https://chatgpt.com/connector_platform_oauth_redirect"],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    });
    const row = await env.DB.prepare("SELECT kind, secret_hash FROM oauth_clients WHERE client_id = ?").bind(body.client_id).first<{ kind: string; secret_hash: string | null }>();
    expect(row).toEqual({ kind: "public", secret_hash: null });
  });

  it.each([
    ["Claude's https callback", "https://claude.ai/api/mcp/auth_callback"],
    ["loopback IPv4 with a port", "http://127.0.0.1:33418/callback"],
    ["loopback IPv6", "http://[::1]:8080/cb"],
    ["localhost", "http://localhost:3000/cb"],
    ["a bare https origin", "https://app.example"],
    ["https with a query", "https://app.example/cb?tenant=1"],
  ])("accepts %s", async (_name, uri) => {
    const { status, body } = await readJson(await register({ redirect_uris: [uri] }));
    expect(status).toBe(201);
    expect(body.redirect_uris).toEqual([uri]);
  });

  const hostile: Array<[string, unknown]> = [
    ["javascript:", "javascript:alert(1)"],
    ["javascript: in mixed case", "JavaScript:alert(1)"],
    ["data:", "data:text/html,<script>alert(1)</script>"],
    ["file:", "file:///etc/passwd"],
    ["vbscript:", "vbscript:msgbox(1)"],
    ["a scheme without a host or domain", "myapp:callback"],
    ["http on a non-loopback host", "http://app.example/cb"],
    ["http on a host that merely starts with 127", "http://127.0.0.1.nip.io/cb"],
    ["http on localhost.<evil>", "http://localhost.evil.com/cb"],
    ["loopback written in hex", "http://0x7f000001/cb"],
    ["a wildcard host", "https://*.evil.com/cb"],
    ["a wildcard path", "https://app.example/*"],
    ["a fragment", "https://app.example/cb#frag"],
    ["an empty fragment", "https://app.example/cb#"],
    ["userinfo", "https://user:pw@app.example/cb"],
    ["userinfo that looks like a host", "https://app.example@evil.com/cb"],
    ["an uppercase scheme", "HTTPS://app.example/cb"],
    ["an uppercase host", "https://Example.com/cb"],
    ["an uppercase scheme and host", "HTTPS://Example.com/cb"],
    ["the default port spelled out", "https://app.example:443/cb"],
    ["dot segments", "https://app.example/a/../cb"],
    ["a scheme without slashes", "https:app.example/cb"],
    ["a scheme-relative URL", "//app.example/cb"],
    ["a relative path", "/cb"],
    ["leading whitespace", " https://app.example/cb"],
    ["trailing whitespace", "https://app.example/cb "],
    ["a tab", "https://app.example/\tcb"],
    ["a trailing tab", "https://app.example/cb\t"],
    ["a newline", "https://app.example/cb\n"],
    ["a carriage return in the host", "https://app.\rexample/cb"],
    ["a NUL", "https://app.example/cb\u0000"],
    ["a DEL", "https://app.example/cb\u007f"],
    ["a no-break space", "https://app.example/cb\u00a0"],
    ["a line separator", "https://app.example/cb\u2028"],
    ["a backslash", "https://app.example\\@evil.com/cb"],
    ["a backslash in the path", "https://app.example/cb\\x"],
    ["a percent-encoded host", "https://app.ex%61mple/cb"],
    ["a percent-encoded dot in the host", "https://app%2eexample/cb"],
    ["a percent-encoded slash before @", "https://evil.com%2f@app.example/cb"],
    ["a non-ASCII look-alike host", "https://app.ex\u0430mple/cb"],
    ["an ideographic full stop in the host", "https://app\u3002example/cb"],
    ["a soft hyphen in the host", "https://app.exam\u00adple/cb"],
    ["an over-long URI", `https://app.example/${"a".repeat(2100)}`],
    ["the empty string", ""],
    ["a number", 42],
    ["null", null],
  ];

  it.each(hostile)("refuses a redirect URI with %s: 400 invalid_redirect_uri, nothing stored", async (_name, uri) => {
    const before = await clientCount();
    const res = await register({ client_name: unique("hostile"), redirect_uris: [REDIRECT, uri] });
    const body = await expectOAuthError(res, 400, "invalid_redirect_uri");
    expect(JSON.stringify(body)).not.toContain("client_id");
    expect(await clientCount()).toBe(before);
  });

  it.each([
    ["missing", { client_name: "x" }],
    ["empty", { redirect_uris: [] }],
    ["not a list", { redirect_uris: REDIRECT }],
  ])("refuses redirect_uris that are %s with 400 invalid_redirect_uri", async (_name, meta) => {
    await expectOAuthError(await register(meta), 400, "invalid_redirect_uri");
  });

  const badMetadata: Array<[string, unknown]> = [
    ["metadata over 8 KiB", { redirect_uris: [REDIRECT], software_statement: "x".repeat(9000) }],
    ["more than 10 redirect URIs", { redirect_uris: Array.from({ length: 11 }, (_, i) => `https://app.example/cb${i}`) }],
    ["a confidential client (client_secret_basic)", { redirect_uris: [REDIRECT], token_endpoint_auth_method: "client_secret_basic" }],
    ["a confidential client (client_secret_post)", { redirect_uris: [REDIRECT], token_endpoint_auth_method: "client_secret_post" }],
    ["private_key_jwt", { redirect_uris: [REDIRECT], token_endpoint_auth_method: "private_key_jwt" }],
    ["the client_credentials grant", { redirect_uris: [REDIRECT], grant_types: ["client_credentials"] }],
    ["the implicit grant", { redirect_uris: [REDIRECT], grant_types: ["implicit"] }],
    ["response_type token", { redirect_uris: [REDIRECT], response_types: ["token"] }],
    ["a client_name over 200 characters", { redirect_uris: [REDIRECT], client_name: "n".repeat(201) }],
    ["a client_name with a control character", { redirect_uris: [REDIRECT], client_name: "evil\u0000name" }],
    ["a non-https logo_uri", { redirect_uris: [REDIRECT], logo_uri: "javascript:alert(1)" }],
    ["a JSON array", [REDIRECT]],
    ["JSON null", null],
    ["a body that is not JSON", "redirect_uris=https://app.example/cb"],
  ];

  it.each(badMetadata)("refuses %s: 400 invalid_client_metadata, nothing stored", async (_name, meta) => {
    const before = await clientCount();
    const body = await expectOAuthError(await register(meta), 400, "invalid_client_metadata");
    expect(body).not.toHaveProperty("client_id");
    expect(await clientCount()).toBe(before);
  });

  it("rate limits registrations per IP: the 11th within a minute gets 429 slow_down and stores nothing", { timeout: 60_000 }, async () => {
    await inOneRateWindow(20);
    const ip = freshIp();
    for (let i = 0; i < 10; i++) expect((await readJson(await register({ redirect_uris: [REDIRECT] }, ip))).status).toBe(201);
    const before = await clientCount();
    await expectOAuthError(await register({ redirect_uris: [REDIRECT] }, ip), 429, "slow_down");
    expect(await clientCount()).toBe(before);
    // Another IP is unaffected.
    expect((await readJson(await register({ redirect_uris: [REDIRECT] }))).status).toBe(201);
  });

  // Was a bug (fixed): src/oauth/register-routes.ts:23 compares `text.length` (UTF-16 code units) with DCR_LIMITS.bodyBytes (8192),
  // so a body of 3000 "€" (9 KB in UTF-8) passes the "8192 bytes" limit. Expected 400 invalid_client_metadata;
  // actual 201. Fix: `new TextEncoder().encode(text).byteLength > DCR_LIMITS.bodyBytes` (and check Content-Length
  // first so a huge body is not read at all). The same pattern is at src/oauth/token-routes.ts:192.
  it("refuses metadata over 8 KiB in UTF-8 bytes even when it is under 8192 characters", async () => {
    const meta = JSON.stringify({ redirect_uris: [REDIRECT], software_statement: "€".repeat(3000) });
    expect(meta.length).toBeLessThan(8192);
    expect(new TextEncoder().encode(meta).byteLength).toBeGreaterThan(8192);
    await expectOAuthError(await register(meta), 400, "invalid_client_metadata");
  });
});
