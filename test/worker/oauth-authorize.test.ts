import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  ORIGIN,
  REDIRECT,
  authorize,
  authorizeQuery,
  checkboxes,
  exchange,
  expectRedirect,
  expectTokens,
  hidden,
  login,
  pkce,
  postConsent,
  postLogin,
  registerClient,
  setClock,
  signIn,
  startAuthorize,
  unique,
  type LoginFlow,
} from "./oauth-helpers";

async function count(table: "auth_codes" | "auth_requests"): Promise<number> {
  return (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
}

/** An HTML error page: exact status, no redirect, no cookie, and (for the caller) nothing stored. */
async function expectErrorPage(res: Response, status: number): Promise<string> {
  const html = await res.text();
  expect(res.status, html.slice(0, 300)).toBe(status);
  expect(res.headers.get("location")).toBeNull();
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  expect(html).toContain("Sign-in problem");
  return html;
}

function redirectCases(): Array<[string, string, Record<string, string | undefined>, Array<[string, string]>]> {
  return [
    ["PKCE missing", "invalid_request", { code_challenge: undefined, code_challenge_method: undefined }, []],
    ["PKCE challenge without a method", "invalid_request", { code_challenge_method: undefined }, []],
    ["PKCE method plain", "invalid_request", { code_challenge_method: "plain" }, []],
    ["PKCE method s256 in lower case", "invalid_request", { code_challenge_method: "s256" }, []],
    ["a malformed S256 challenge", "invalid_request", { code_challenge: "too-short" }, []],
    ["resource of another server", "invalid_target", { resource: "https://evil.example/mcp" }, []],
    ["resource with a trailing slash", "invalid_target", { resource: `${ORIGIN}/mcp/` }, []],
    ["resource equal to the issuer", "invalid_target", { resource: ORIGIN }, []],
    [
      "a repeated scope",
      "invalid_request",
      {},
      [
        ["scope", "db:read"],
        ["scope", "db:write"],
      ],
    ],
    ["a repeated resource", "invalid_request", {}, [["resource", "https://evil.example/mcp"]]],
    ["a repeated code_challenge", "invalid_request", {}, [["code_challenge", "A".repeat(43)]]],
    ["a repeated response_type", "invalid_request", {}, [["response_type", "code"]]],
    ["response_type token", "unsupported_response_type", { response_type: "token" }, []],
  ];
}

afterEach(async () => {
  await setClock(0);
});

describe("GET /authorize", () => {
  it("shows the login page with hidden request and csrf, a request-bound cookie and anti-framing headers", async () => {
    const clientId = await registerClient([REDIRECT], { client_name: "Acme Agent" });
    const p = await pkce();
    const res = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: REDIRECT, code_challenge: p.challenge, state: "s1", scope: "db:read" }));
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^gh_authz=[0-9a-f]+;/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\/authorize/i);
    expect(cookie.split(";")[0]).toBe(`gh_authz=${hidden(html, "request")}`);
    expect(hidden(html, "csrf")).toMatch(/^[0-9a-f]{32}$/);
    expect(html).toContain("Acme Agent");
    expect(html).toContain("app.example");
    expect(html).toContain('value="alice@example.com"');
  });

  it("defaults a missing scope: the page is shown (never 400) and read-only is preselected", async () => {
    const flow = await startAuthorize({});
    const consent = await login(flow, "alice@example.com");
    expect(checkboxes(consent)).toEqual([{ scope: "db:read", checked: true }]);
    expect(hidden(consent, "workspace")).toBe("demo");
    expect(consent).toContain("revenue_summary");
  });

  it("accepts a loopback redirect on a different port than registered (RFC 8252 §7.3)", async () => {
    const clientId = await registerClient(["http://127.0.0.1:33418/callback"]);
    const flow = await startAuthorize({ clientId, redirectUri: "http://127.0.0.1:49152/callback" });
    await login(flow);
    const { params } = expectRedirect(await postConsent(flow), "http://127.0.0.1:49152/callback");
    expect(params.get("code")).toMatch(/^ghc_/);
  });

  it("accepts an omitted redirect_uri when exactly one is registered", async () => {
    const clientId = await registerClient([REDIRECT]);
    const p = await pkce();
    const res = await authorize(authorizeQuery({ client_id: clientId, code_challenge: p.challenge, state: "s" }));
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  describe("errors shown to the user, never redirected", () => {
    const pageCases: Array<[string, string[], (clientId: string) => Record<string, string | undefined>]> = [
      ["an unknown client", [REDIRECT], () => ({ client_id: "ghcl_unknown", redirect_uri: REDIRECT })],
      ["no client_id", [REDIRECT], () => ({ client_id: undefined, redirect_uri: REDIRECT })],
      ["an over-long client_id", [REDIRECT], () => ({ client_id: "c".repeat(101), redirect_uri: REDIRECT })],
      ["a redirect to another host", [REDIRECT], (id) => ({ client_id: id, redirect_uri: "https://evil.example/cb" })],
      ["a redirect with another path", [REDIRECT], (id) => ({ client_id: id, redirect_uri: "https://app.example/cb/other" })],
      ["a redirect with a trailing slash", [REDIRECT], (id) => ({ client_id: id, redirect_uri: "https://app.example/cb/" })],
      ["a redirect with an added query", [REDIRECT], (id) => ({ client_id: id, redirect_uri: "https://app.example/cb?x=1" })],
      ["a redirect differing in case", [REDIRECT], (id) => ({ client_id: id, redirect_uri: "https://APP.example/cb" })],
      ["an https redirect on another port", [REDIRECT], (id) => ({ client_id: id, redirect_uri: "https://app.example:8443/cb" })],
      ["an http downgrade of the registered https", [REDIRECT], (id) => ({ client_id: id, redirect_uri: "http://app.example/cb" })],
      ["a loopback redirect with another path", ["http://127.0.0.1:33418/callback"], (id) => ({ client_id: id, redirect_uri: "http://127.0.0.1:40000/other" })],
      ["a loopback redirect on another loopback name", ["http://127.0.0.1:33418/callback"], (id) => ({ client_id: id, redirect_uri: "http://localhost:33418/callback" })],
      ["an omitted redirect_uri with two registered", [REDIRECT, "https://app.example/cb2"], (id) => ({ client_id: id, redirect_uri: undefined })],
    ];

    it.each(pageCases)("%s → 400 page, no redirect, nothing stored", async (_name, registered, params) => {
      const clientId = await registerClient(registered);
      const p = await pkce();
      const before = await count("auth_requests");
      const res = await authorize(authorizeQuery({ code_challenge: p.challenge, state: "st" }, params(clientId)));
      await expectErrorPage(res, 400);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(await count("auth_requests")).toBe(before);
    });
  });

  it("escapes the client name on the login and consent pages", async () => {
    const clientId = await registerClient([REDIRECT], { client_name: "<script>alert(1)</script><img src=x onerror=alert(2)>" });
    const flow = await startAuthorize({ clientId });
    const consent = await login(flow);
    for (const html of [flow.html, consent]) {
      expect(html).not.toContain("<script>alert(1)");
      expect(html).not.toContain("<img src=x");
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
  });

  it("shows the unknown-client page for a task client's id (only public clients use /authorize)", async () => {
    const task = `task-${unique()}`;
    const made = await SELF.fetch(`${ORIGIN}/dev/task-client`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ task: "nightly-revenue-report", workspace: "demo", client_id: task, client_secret: "s3cret-value-for-test", tools: ["revenue_summary"] }),
    });
    expect(made.status).toBe(200);
    const p = await pkce();
    const res = await authorize(authorizeQuery({ client_id: task, redirect_uri: REDIRECT, code_challenge: p.challenge, state: "st" }));
    await expectErrorPage(res, 400);
  });

  // Was a bug (fixed): src/oauth/redirect-uri.ts:42-45 (matchRedirectUri, loopback branch) compares hostname, pathname and search
  // but not username/password or hash, so with "http://127.0.0.1:33418/callback" registered, a request for
  // "http://evil@127.0.0.1:40000/callback" or "http://127.0.0.1:40000/callback#x" is accepted (200 login page; the
  // code would be sent to that URI) instead of the 400 page. Only the port may differ (RFC 8252 §7.3); registration
  // already refuses userinfo and fragments. Fix: also require `!req.username && !req.password && !req.hash` (or
  // compare `reg` with `req` after setting `reg.port = req.port`: `reg.href === req.href`).
  it.each([
    ["userinfo", "http://evil@127.0.0.1:40000/callback"],
    ["a fragment", "http://127.0.0.1:40000/callback#x"],
  ])("refuses a loopback redirect that differs by %s as well as the port: 400 page", async (_name, redirectUri) => {
    const clientId = await registerClient(["http://127.0.0.1:33418/callback"]);
    const p = await pkce();
    const res = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: redirectUri, code_challenge: p.challenge, state: "st" }));
    await expectErrorPage(res, 400);
  });

  // RFC 9700 §4.11.2: anyone can register an https redirect URI, so /authorize never redirects the request's own
  // errors there (an open redirector before any user interaction), not even for a client some user consented to.
  it.each(redirectCases())("%s → 400 page naming the error, no redirect, nothing stored", async (_name, error, override, extra) => {
    const clientId = await registerClient(["https://evil.example/landing"]);
    const p = await pkce();
    const before = await count("auth_requests");
    const res = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: "https://evil.example/landing", code_challenge: p.challenge, state: "s" }, override, extra));
    const html = await expectErrorPage(res, 400);
    expect(html).toContain(error);
    expect(await count("auth_requests")).toBe(before);
  });

  it("shows errors on a page even for a client a user has already consented to (consent is no vouching)", async () => {
    const a = await signIn({});
    expect((await exchange(a)).status).toBe(200);
    const p = await pkce();
    const res = await authorize(authorizeQuery({ client_id: a.clientId, redirect_uri: REDIRECT, code_challenge: p.challenge, state: "s", response_type: "token" }));
    expect(await expectErrorPage(res, 400)).toContain("unsupported_response_type");
  });

  // RFC 8707: this server has one resource, so clients that send none (Claude.ai connectors, Claude Code, the
  // Codex CLI) mean it; and a request naming none of our scopes is a request with no scope.
  it.each<[string, Record<string, string | undefined>]>([
    ["no resource", { resource: undefined }],
    ["only unknown scopes (openid profile offline_access)", { scope: "openid profile offline_access" }],
    ["only the scope mcp", { scope: "mcp" }],
    ["no resource and an unknown scope", { resource: undefined, scope: "claudeai" }],
  ])("accepts %s: the login page, with no scope recorded (least privilege is preselected at consent)", async (_name, override) => {
    const clientId = await registerClient([REDIRECT]);
    const p = await pkce();
    const res = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: REDIRECT, code_challenge: p.challenge, state: "s" }, override));
    expect(res.status, (await res.clone().text()).slice(0, 200)).toBe(200);
    const row = await env.DB.prepare("SELECT scope FROM auth_requests ORDER BY created_at DESC, rowid DESC LIMIT 1").first<{ scope: string }>();
    expect(row!.scope).toBe("");
  });
});

describe("POST /authorize/login and /authorize/consent", () => {
  it("issues a code bound to the state and the issuer (RFC 9207) for an allowed consent", async () => {
    const a = await signIn({ scope: "db:read" });
    expect(a.code).toMatch(/^ghc_/);
    const row = await env.DB.prepare("SELECT client_id, scope, principal_id, workspace_id, used_at FROM auth_codes WHERE client_id = ?").bind(a.clientId).first();
    expect(row).toEqual({ client_id: a.clientId, scope: "db:read", principal_id: "user:alice@example.com", workspace_id: "demo", used_at: null });
  });

  it("never grants more than the policy allows, whatever the form says", async () => {
    const flow = await startAuthorize({ scope: "db:read db:write" });
    await login(flow);
    const { params } = expectRedirect(await postConsent(flow, { scopes: ["db:read", "db:write", "db:sql", "gatehouse:admin"] }), flow.redirectUri);
    const tokens = await expectTokens(await exchange({ ...flow, code: params.get("code")! }));
    expect(tokens.scope).toBe("db:read");
  });

  type Tamper = [string, (flow: LoginFlow, other: LoginFlow) => Parameters<typeof postConsent>[1], number];
  const consentTampering: Tamper[] = [
    ["a wrong CSRF token", () => ({ csrf: "0".repeat(32) }), 403],
    ["another request's CSRF token", (_f, other) => ({ csrf: other.csrf }), 403],
    ["no cookie", () => ({ cookie: null }), 403],
    ["another request's cookie", (_f, other) => ({ cookie: other.cookie }), 403],
    ["another request's cookie and CSRF token", (_f, other) => ({ cookie: other.cookie, csrf: other.csrf }), 403],
    ["an unknown request id", () => ({ request: "f".repeat(32) }), 400],
  ];

  it.each(consentTampering)("refuses a consent with %s: error page, no code, the real consent still works", async (_name, tamper, status) => {
    const flow = await startAuthorize({});
    const other = await startAuthorize({});
    await login(flow);
    await login(other);
    const codes = await count("auth_codes");
    const res = await postConsent(flow, tamper(flow, other));
    await expectErrorPage(res, status);
    expect(await count("auth_codes")).toBe(codes);
    // Nothing changed: the genuine form of both requests still completes.
    expect(expectRedirect(await postConsent(flow), flow.redirectUri).params.get("code")).toMatch(/^ghc_/);
    expect(expectRedirect(await postConsent(other), other.redirectUri).params.get("code")).toMatch(/^ghc_/);
  });

  // Was a bug (fixed): src/oauth/authorize-routes.tsx:55 answers a consent (or login) form without a `csrf` field with 400
  // ("The sign-in form is incomplete") while a wrong CSRF token gets 403; the brief's documented answer for
  // "consent without CSRF token" is 403. Input: POST /authorize/consent with request, workspace, scope, decision and
  // the gh_authz cookie but no csrf. Expected 403 page; actual 400 page (no code is issued either way). Fix: when
  // `request` is present but `csrf` is missing, return showError(..., 403) like the mismatch branch.
  it("refuses a consent without a CSRF token with 403", async () => {
    const flow = await startAuthorize({});
    await login(flow);
    const codes = await count("auth_codes");
    await expectErrorPage(await postConsent(flow, { csrf: null }), 403);
    expect(await count("auth_codes")).toBe(codes);
  });

  it("refuses a consent without a CSRF token (some error page) and issues no code", async () => {
    const flow = await startAuthorize({});
    await login(flow);
    const codes = await count("auth_codes");
    const res = await postConsent(flow, { csrf: null });
    expect([400, 403]).toContain(res.status);
    await expectErrorPage(res, res.status);
    expect(await count("auth_codes")).toBe(codes);
    expect(expectRedirect(await postConsent(flow), flow.redirectUri).params.get("code")).toMatch(/^ghc_/);
  });

  it.each([
    ["a wrong CSRF token", { csrf: "0".repeat(32) }],
    ["no cookie", { cookie: null }],
  ] as const)("refuses a login with %s: 403 page, the user is not attached to the request", async (_name, override) => {
    const flow = await startAuthorize({});
    await expectErrorPage(await postLogin(flow, "alice@example.com", override), 403);
    const row = await env.DB.prepare("SELECT principal_id FROM auth_requests WHERE id = ?").bind(flow.request).first<{ principal_id: string | null }>();
    expect(row).toEqual({ principal_id: null });
  });

  it("refuses a login as a user in no policy with 403", async () => {
    const flow = await startAuthorize({});
    await expectErrorPage(await postLogin(flow, "mallory@evil.example"), 403);
  });

  it("refuses a consent posted before any login: 400 page, no code", async () => {
    const flow = await startAuthorize({});
    const codes = await count("auth_codes");
    await expectErrorPage(await postConsent(flow), 400);
    expect(await count("auth_codes")).toBe(codes);
  });

  it("decides a consent once: a replayed allow gets a 400 page and no second code", async () => {
    const flow = await startAuthorize({});
    await login(flow);
    expectRedirect(await postConsent(flow), flow.redirectUri);
    const codes = await count("auth_codes");
    await expectErrorPage(await postConsent(flow), 400);
    expect(await count("auth_codes")).toBe(codes);
  });

  it("redirects a denial with error=access_denied and the state, and issues no code", async () => {
    const flow = await startAuthorize({});
    await login(flow);
    const codes = await count("auth_codes");
    const { params } = expectRedirect(await postConsent(flow, { decision: "deny" }), flow.redirectUri);
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("state")).toBe(flow.state);
    expect(params.get("iss")).toBe(ORIGIN);
    expect(params.get("code")).toBeNull();
    expect(await count("auth_codes")).toBe(codes);
  });

  it.each([
    ["no scope ticked", { scopes: [] }],
    ["only a scope the user is not granted", { scopes: ["db:write"] }],
    ["a workspace the user is not in", { workspace: "other" }],
  ])("redirects a consent with %s as access_denied, no code", async (_name, choice) => {
    const flow = await startAuthorize({});
    await login(flow);
    const codes = await count("auth_codes");
    const { params } = expectRedirect(await postConsent(flow, choice), flow.redirectUri);
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("state")).toBe(flow.state);
    expect(params.get("code")).toBeNull();
    expect(await count("auth_codes")).toBe(codes);
  });

  it("redirects a user with no tools (maria) as access_denied at login", async () => {
    const flow = await startAuthorize({});
    const codes = await count("auth_codes");
    const { params } = expectRedirect(await postLogin(flow, "maria@example.com"), flow.redirectUri);
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("state")).toBe(flow.state);
    expect(params.get("code")).toBeNull();
    expect(await count("auth_codes")).toBe(codes);
    // The request is spent: the consent form cannot be posted afterwards.
    await expectErrorPage(await postConsent(flow), 400);
  });

  it("refuses a login on a request older than 15 minutes with a 400 page", async () => {
    const flow = await startAuthorize({});
    await setClock(901);
    try {
      await expectErrorPage(await postLogin(flow, "alice@example.com"), 400);
    } finally {
      await setClock(0);
    }
  });
});
