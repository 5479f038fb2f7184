import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  ORIGIN,
  RESOURCE,
  exchange,
  expectOAuthError,
  expectTokens,
  jwtPayload,
  mcpStatus,
  pkce,
  postForm,
  refresh,
  registerClient,
  setClock,
  signIn,
  toolNames,
  url,
  type Authorized,
} from "./oauth-helpers";

async function sessionsOf(clientId: string): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE client_id = ?").bind(clientId).first<{ n: number }>())!.n;
}

afterEach(async () => {
  await setClock(0);
});

describe("POST /token, authorization_code", () => {
  it("exchanges a code for a 15-minute read token and a refresh token, no-store", async () => {
    const a = await signIn();
    const res = await exchange(a);
    expect(res.headers.get("pragma")).toBe("no-cache");
    const t = await expectTokens(res);
    expect(t.expires_in).toBe(900);
    expect(t.scope).toBe("db:read");
    expect(t.refresh_token).toMatch(/^ghr_/);
    const header = JSON.parse(atob(t.access_token.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    expect(header).toMatchObject({ typ: "at+jwt", alg: "EdDSA" });
    const claims = jwtPayload(t.access_token);
    expect(claims).toMatchObject({ iss: ORIGIN, aud: RESOURCE, sub: "user:alice@example.com", client_id: a.clientId, scope: "db:read", ws: "demo", pk: "user", email: "alice@example.com" });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(await toolNames(t.access_token)).toEqual(["pipeline_coverage", "revenue_summary"]);
    // The refresh token is stored only as a hash.
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM refresh_tokens WHERE token_hash = ?").bind(t.refresh_token).first<{ n: number }>();
    expect(stored!.n).toBe(0);
  });

  it("accepts the exchange without the optional resource parameter", async () => {
    const a = await signIn();
    await expectTokens(await exchange(a, { resource: undefined }));
  });

  type Hostile = [string, (a: Authorized, other: string) => Promise<Response>, number, string];
  const hostile: Hostile[] = [
    ["a wrong code_verifier", async (a) => exchange(a, { code_verifier: (await pkce()).verifier }), 400, "invalid_grant"],
    ["a code_verifier that is too short", async (a) => exchange(a, { code_verifier: "short" }), 400, "invalid_grant"],
    ["the challenge sent as the verifier (plain)", async (a) => exchange(a, { code_verifier: a.pkce.challenge }), 400, "invalid_grant"],
    ["no code_verifier", async (a) => exchange(a, { code_verifier: undefined }), 400, "invalid_request"],
    ["the code of another client", async (a, other) => exchange(a, { client_id: other }), 400, "invalid_grant"],
    ["a wrong redirect_uri", async (a) => exchange(a, { redirect_uri: "https://app.example/other" }), 400, "invalid_grant"],
    ["no redirect_uri", async (a) => exchange(a, { redirect_uri: undefined }), 400, "invalid_grant"],
    ["an unknown code", async (a) => exchange(a, { code: `ghc_${"A".repeat(43)}` }), 400, "invalid_grant"],
    ["no code", async (a) => exchange(a, { code: undefined }), 400, "invalid_request"],
    ["a wrong resource", async (a) => exchange(a, { resource: "https://evil.example/mcp" }), 400, "invalid_target"],
    ["an unknown client_id", async (a) => exchange(a, { client_id: "ghcl_nobody" }), 401, "invalid_client"],
    ["no client_id", async (a) => exchange(a, { client_id: undefined }), 401, "invalid_client"],
    ["a public client sending a secret", async (a) => exchange(a, { client_secret: "guess" }), 401, "invalid_client"],
    [
      "a repeated parameter",
      async (a) =>
        postForm("/token", [
          ["grant_type", "authorization_code"],
          ["code", a.code],
          ["code", a.code],
          ["code_verifier", a.pkce.verifier],
          ["redirect_uri", a.redirectUri],
          ["client_id", a.clientId],
        ]),
      400,
      "invalid_request",
    ],
    [
      "parameters in the query string",
      async (a) => {
        const q = new URLSearchParams({ grant_type: "authorization_code", code: a.code, code_verifier: a.pkce.verifier, redirect_uri: a.redirectUri, client_id: a.clientId });
        return SELF.fetch(url(`/token?${q}`), { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: q.toString() });
      },
      400,
      "invalid_request",
    ],
    [
      "a JSON body instead of a form",
      async (a) =>
        SELF.fetch(url("/token"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ grant_type: "authorization_code", code: a.code, code_verifier: a.pkce.verifier, redirect_uri: a.redirectUri, client_id: a.clientId }),
        }),
      400,
      "invalid_request",
    ],
    [
      "no content type",
      async (a) =>
        SELF.fetch(url("/token"), {
          method: "POST",
          body: new TextEncoder().encode(
            new URLSearchParams({ grant_type: "authorization_code", code: a.code, code_verifier: a.pkce.verifier, redirect_uri: a.redirectUri, client_id: a.clientId }).toString(),
          ),
        }),
      400,
      "invalid_request",
    ],
  ];

  it.each(hostile.map(([name, send, status, error]) => [name, status, error, send] as const))("refuses %s: %i %s, no-store, no session, nothing leaked", async (_name, status, error, send) => {
    const a = await signIn();
    const other = await registerClient();
    const res = await send(a, other);
    expect(res.headers.get("cache-control")).toBe("no-store");
    await expectOAuthError(res, status, error, [a.code, a.pkce.verifier]);
    expect(await sessionsOf(a.clientId)).toBe(0);
    expect(await sessionsOf(other)).toBe(0);
  });

  it("answers a wrong basic secret of a public client with 401 invalid_client and a Basic challenge", async () => {
    const a = await signIn();
    const res = await postForm(
      "/token",
      { grant_type: "authorization_code", code: a.code, code_verifier: a.pkce.verifier, redirect_uri: a.redirectUri },
      { Authorization: `Basic ${btoa(`${a.clientId}:nope`)}` },
    );
    expect(res.headers.get("www-authenticate")).toBe('Basic realm="gatehouse"');
    await expectOAuthError(res, 401, "invalid_client", [a.code]);
  });

  it("leaves the code usable after a refusal that happens before it is consumed (wrong resource)", async () => {
    const a = await signIn();
    await expectOAuthError(await exchange(a, { resource: "https://evil.example/mcp" }), 400, "invalid_target");
    await expectTokens(await exchange(a));
  });

  it("refuses a replayed code with invalid_grant and revokes what the first exchange issued", async () => {
    const a = await signIn();
    const first = await expectTokens(await exchange(a));
    expect(await mcpStatus(first.access_token)).toBe(200);
    await expectOAuthError(await exchange(a), 400, "invalid_grant", [a.code, first.access_token, first.refresh_token]);
    expect(await mcpStatus(first.access_token)).toBe(401);
    await expectOAuthError(await refresh(a.clientId, first.refresh_token), 400, "invalid_grant", [first.refresh_token]);
  });

  it("revokes the first exchange's tokens when another client replays the code", async () => {
    const a = await signIn();
    const first = await expectTokens(await exchange(a));
    const other = await registerClient();
    await expectOAuthError(await exchange(a, { client_id: other }), 400, "invalid_grant", [a.code, first.access_token]);
    expect(await mcpStatus(first.access_token)).toBe(401);
    await expectOAuthError(await refresh(a.clientId, first.refresh_token), 400, "invalid_grant");
  });

  it("refuses a code used after 10 minutes with invalid_grant, no session", async () => {
    const a = await signIn();
    await setClock(600);
    try {
      await expectOAuthError(await exchange(a), 400, "invalid_grant", [a.code]);
    } finally {
      await setClock(0);
    }
    expect(await sessionsOf(a.clientId)).toBe(0);
  });

  it("accepts a code within its lifetime (the clock moved 60 s)", async () => {
    const a = await signIn();
    await setClock(60);
    try {
      await expectTokens(await exchange(a));
    } finally {
      await setClock(0);
    }
  });
});

describe("POST /token, other grants", () => {
  it.each(["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer", ""])(
    "refuses grant_type=%j with 400 unsupported_grant_type, no-store",
    async (grant) => {
      const clientId = await registerClient();
      const res = await postForm("/token", { grant_type: grant, client_id: clientId, username: "alice@example.com", password: "pw" });
      expect(res.headers.get("cache-control")).toBe("no-store");
      await expectOAuthError(res, 400, "unsupported_grant_type", ["pw"]);
    },
  );

  it("refuses a missing grant_type with 400 unsupported_grant_type", async () => {
    const clientId = await registerClient();
    await expectOAuthError(await postForm("/token", { client_id: clientId }), 400, "unsupported_grant_type");
  });
});
