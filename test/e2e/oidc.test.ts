import { createHash, randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { jwtPayload, queryD1 } from "../support/d1";
import { uniqueClientIp } from "../support/client-ip";

/**
 * Upstream OpenID Connect sign-in (docs/security.md) against a real `oidc-provider` on 127.0.0.1, started by the e2e
 * global setup (test/support/oidc-provider.ts), with the Worker configured through OIDC_*. The browser is played
 * with fetch and hand-kept cookies: /authorize → "Sign in with …" → the provider's login and consent forms →
 * /authorize/oidc/callback → Gatehouse consent → code → /token.
 */
const e2e = inject("e2e");
const oidc = e2e.oidc!;
const CLIENT_REDIRECT = "http://127.0.0.1:33419/callback";

/** Cookies by name, one jar per site (paths ignored: each test uses one authorization at a time). */
class Jar {
  private readonly values = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === "") this.values.delete(name);
      else this.values.set(name, value);
    }
  }
  header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  get(name: string): string | undefined {
    return this.values.get(name);
  }
}

function hidden(html: string, name: string): string | undefined {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
}

async function registerClient(): Promise<string> {
  const res = await fetch(`${e2e.workerUrl}/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "cf-connecting-ip": uniqueClientIp() },
    body: JSON.stringify({
      client_name: "OIDC e2e",
      redirect_uris: [CLIENT_REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { client_id: string }).client_id;
}

interface Started {
  clientId: string;
  verifier: string;
  state: string;
  gatehouse: Jar;
  request: string;
  csrf: string;
  /** Where POST /authorize/oidc sent the browser (the provider's authorization endpoint). */
  upstreamUrl: URL;
}

/** The client's side and Gatehouse's login page, up to the redirect to the provider. */
async function startSignIn(): Promise<Started> {
  const clientId = await registerClient();
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(8).toString("hex");
  const authorize = new URL(`${e2e.workerUrl}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: "code",
    client_id: clientId,
    redirect_uri: CLIENT_REDIRECT,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state,
    resource: e2e.mcpUrl,
  }))
    authorize.searchParams.set(k, v);
  const gatehouse = new Jar();
  const page = await fetch(authorize, { redirect: "manual" });
  gatehouse.take(page);
  const html = await page.text();
  expect(page.status, html.slice(0, 300)).toBe(200);
  expect(html).toContain('action="/authorize/oidc"');
  const request = hidden(html, "request")!;
  const csrf = hidden(html, "csrf")!;
  const go = await fetch(`${e2e.workerUrl}/authorize/oidc`, {
    method: "POST",
    redirect: "manual",
    headers: { Cookie: gatehouse.header(), "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ request, csrf }),
  });
  expect(go.status, await go.clone().text()).toBe(303);
  expect(go.headers.get("cache-control")).toBe("no-store");
  return { clientId, verifier, state, gatehouse, request, csrf, upstreamUrl: new URL(go.headers.get("location")!) };
}

/**
 * The user at the provider: follows its redirects, fills in the login form and confirms consent, and returns the
 * URL the provider finally sends the browser to (Gatehouse's callback).
 */
async function atProvider(start: URL, login: { user: string; password: string }): Promise<URL> {
  const jar = new Jar();
  let next: { url: URL; init?: RequestInit } = { url: start };
  for (let step = 0; step < 20; step++) {
    const res = await fetch(next.url, { ...next.init, redirect: "manual", headers: { ...(next.init?.headers as Record<string, string>), Cookie: jar.header() } });
    jar.take(res);
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      const target = new URL(location, next.url);
      if (target.origin !== oidc.issuer) return target;
      next = { url: target };
      continue;
    }
    const html = await res.text();
    expect(res.status, html.slice(0, 300)).toBe(200);
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form at the provider: ${html.slice(0, 300)}`);
    const body = action.endsWith("/login") ? new URLSearchParams({ login: login.user, password: login.password }) : new URLSearchParams();
    next = { url: new URL(action, oidc.issuer), init: { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } } };
  }
  throw new Error("too many steps at the provider");
}

const callbackFetch = (url: URL | string, jar?: Jar) => fetch(url, { redirect: "manual", headers: jar ? { Cookie: jar.header() } : {} });

async function oidcAudit(): Promise<Array<{ outcome: string; rule: string | null; principal: string | null; detail: string | null }>> {
  return queryD1(e2e.stateDir, "SELECT outcome, rule, principal, detail FROM audit_events WHERE event = 'oauth.login' ORDER BY seq");
}

describe("sign-in through an upstream OpenID Connect provider", () => {
  it("signs alice in with her verified email and IdP groups, and issues a Gatehouse token for user:alice@example.com", async () => {
    const s = await startSignIn();
    // PKCE S256, state, nonce and the configured scopes, to the exact callback; no secret in the URL.
    expect(s.upstreamUrl.origin).toBe(oidc.issuer);
    const q = s.upstreamUrl.searchParams;
    expect(q.get("client_id")).toBe(oidc.clientId);
    expect(q.get("redirect_uri")).toBe(`${e2e.workerUrl}/authorize/oidc/callback`);
    expect(q.get("response_type")).toBe("code");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(q.get("state")).toBeTruthy();
    expect(q.get("nonce")).toBeTruthy();
    expect(q.get("scope")!.split(" ").sort()).toEqual(["email", "groups", "openid", "profile"]);
    expect(s.upstreamUrl.href).not.toContain(oidc.clientSecret);

    const callback = await atProvider(s.upstreamUrl, { user: "alice@example.com", password: "alice-pw" });
    expect(callback.origin + callback.pathname).toBe(`${e2e.workerUrl}/authorize/oidc/callback`);
    expect(callback.searchParams.get("code")).toBeTruthy();

    // Nothing Gatehouse keeps while the browser is at the provider is an upstream code or token.
    const pending = await queryD1<Record<string, unknown>>(e2e.stateDir, `SELECT * FROM oidc_logins WHERE request_id = '${s.request}'`);
    expect(pending).toHaveLength(1);
    expect(JSON.stringify(pending)).not.toContain(callback.searchParams.get("code")!);

    const consent = await callbackFetch(callback, s.gatehouse);
    const html = await consent.text();
    expect(consent.status, html.slice(0, 500)).toBe(200);
    expect(consent.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(html).toContain("alice@example.com"); // the IdP's "Alice@Example.com", lowercased
    // Her policy tools, plus my_opportunities through the IdP group account-executives.
    for (const tool of ["revenue_summary", "pipeline_coverage", "my_opportunities"]) expect(html).toContain(tool);
    expect(await queryD1(e2e.stateDir, `SELECT 1 FROM oidc_logins WHERE request_id = '${s.request}'`)).toHaveLength(0);

    // The callback is single use: replaying it shows the error page.
    expect((await callbackFetch(callback, s.gatehouse)).status).toBe(400);

    const form = new URLSearchParams({ request: s.request, csrf: s.csrf, decision: "allow", workspace: hidden(html, "workspace") ?? "demo", scope: "db:read" });
    const allow = await fetch(`${e2e.workerUrl}/authorize/consent`, {
      method: "POST",
      redirect: "manual",
      headers: { Cookie: s.gatehouse.header(), "Content-Type": "application/x-www-form-urlencoded" },
      body: form,
    });
    expect(allow.status).toBe(302);
    const back = new URL(allow.headers.get("location")!);
    expect(back.origin + back.pathname).toBe(CLIENT_REDIRECT);
    expect(back.searchParams.get("state")).toBe(s.state);
    const code = back.searchParams.get("code")!;
    expect(code).toBeTruthy();

    const token = await fetch(`${e2e.workerUrl}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: CLIENT_REDIRECT, client_id: s.clientId, code_verifier: s.verifier, resource: e2e.mcpUrl }),
    });
    const tokens = (await token.json()) as { access_token: string; scope: string };
    expect(token.status, JSON.stringify(tokens)).toBe(200);
    const claims = jwtPayload(tokens.access_token);
    expect(claims.sub).toBe("user:alice@example.com");
    expect(claims.iss).toBe(e2e.workerUrl);
    expect(claims.aud).toBe(e2e.mcpUrl);
    expect(claims.email).toBe("alice@example.com");
    // Groups the policy knows come first.
    expect(claims.groups).toEqual(["account-executives", "idp-everyone"]);

    const audit = await oidcAudit();
    expect(audit.slice(-2)).toMatchObject([
      { outcome: "ok", rule: "oidc", principal: "user:alice@example.com", detail: "oidc: 2 group(s)" },
      { outcome: "denied", rule: "oidc_state_unknown" }, // the replay
    ]);
    expect(JSON.stringify(audit)).not.toContain(callback.searchParams.get("code")!);
  });

  it("refuses a user whose email the provider has not verified: error page, no code", async () => {
    const s = await startSignIn();
    const callback = await atProvider(s.upstreamUrl, { user: "dana@example.com", password: "dana-pw" });
    const res = await callbackFetch(callback, s.gatehouse);
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(html).toContain("Sign-in problem");
    expect(html).not.toContain("dana@example.com");
    expect(html).not.toContain("email_verified");
    expect((await oidcAudit()).at(-1)).toMatchObject({ outcome: "denied", rule: "oidc_email_not_verified" });
    // The request was never given a principal, so consent cannot be forced.
    const consent = await fetch(`${e2e.workerUrl}/authorize/consent`, {
      method: "POST",
      redirect: "manual",
      headers: { Cookie: s.gatehouse.header(), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ request: s.request, csrf: s.csrf, decision: "allow", workspace: "demo", scope: "db:read" }),
    });
    expect(consent.status).toBe(400);
  });

  it("refuses a tampered state and a callback from another browser, without spending the real sign-in", async () => {
    const s = await startSignIn();
    const callback = await atProvider(s.upstreamUrl, { user: "alice@example.com", password: "alice-pw" });

    const tampered = new URL(callback);
    tampered.searchParams.set("state", `${callback.searchParams.get("state")}x`);
    const bad = await callbackFetch(tampered, s.gatehouse);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("Sign-in problem");
    expect((await oidcAudit()).at(-1)).toMatchObject({ outcome: "denied", rule: "oidc_state_unknown" });

    // Another browser (no gh_authz cookie for this request) cannot finish it: login CSRF.
    const elsewhere = await callbackFetch(callback);
    expect(elsewhere.status).toBe(403);
    expect((await oidcAudit()).at(-1)).toMatchObject({ outcome: "denied", rule: "oidc_browser_mismatch" });
  });

  it("lets the real browser finish after a tampered state was refused", async () => {
    const s = await startSignIn();
    const callback = await atProvider(s.upstreamUrl, { user: "alice@example.com", password: "alice-pw" });
    const tampered = new URL(callback);
    tampered.searchParams.set("state", "0".repeat(43));
    expect((await callbackFetch(tampered, s.gatehouse)).status).toBe(400);
    const ok = await callbackFetch(callback, s.gatehouse);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("Allow OIDC e2e?");
  });

  it("refuses POST /authorize/oidc without the request's CSRF token", async () => {
    const s = await startSignIn();
    const res = await fetch(`${e2e.workerUrl}/authorize/oidc`, {
      method: "POST",
      redirect: "manual",
      headers: { Cookie: s.gatehouse.header(), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ request: s.request, csrf: "forged" }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("location")).toBeNull();
  });

  it("shows the error page when the provider answers with an error", async () => {
    const s = await startSignIn();
    const url = new URL(`${e2e.workerUrl}/authorize/oidc/callback`);
    url.searchParams.set("error", "access_denied");
    url.searchParams.set("state", s.upstreamUrl.searchParams.get("state")!);
    url.searchParams.set("iss", oidc.issuer);
    const res = await callbackFetch(url, s.gatehouse);
    expect(res.status).toBe(400);
    expect((await oidcAudit()).at(-1)).toMatchObject({ outcome: "denied", rule: "oidc_upstream_error", detail: "oidc: provider answered access_denied" });
  });
});
