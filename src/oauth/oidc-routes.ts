import { Hono, type Context } from "hono";
import { getCookie } from "hono/cookie";
import * as oauth from "oauth4webapi";
import type { AppEnv } from "../env";
import { configFor } from "../http/config";
import { htmlPageHeaders } from "../http/page-headers";
import { nowSeconds } from "../lib/clock";
import { userPrincipalId } from "../policy/compile";
import { policyGroupNames } from "../policy/store-d1";
import { recordOAuthEvent, recordOAuthRefusal } from "./audit";
import { ADMIN_GROUP } from "./consent-data";
import { continuedRequest, showConsent } from "./authorize-routes";
import { identityFromClaims, upstreamScope } from "./oidc-identity";
import { oidcConfigured } from "./oidc-config";
import { upstream, UpstreamConfigError, type Upstream } from "./oidc-upstream";
import { ErrorPage } from "./pages";
import { getAuthRequest, insertOidcLogin, takeOidcLogin, type AuthRequestRow, type OidcLoginRow } from "./store-d1";

/**
 * Sign-in through the upstream OpenID Connect provider (docs/security.md), mounted at /authorize/oidc:
 *
 *   POST /authorize/oidc            the login page's button: checks the request, CSRF token and browser cookie,
 *                                   remembers a PKCE verifier, nonce and state for this request, and sends the
 *                                   browser to the provider (authorization code + PKCE S256);
 *   GET  /authorize/oidc/callback   the provider's answer: state (single use, bound to the request and to this
 *                                   browser), code exchange with client_secret_basic, ID token validation
 *                                   (signature, iss, aud, exp, nonce), `email_verified === true`, then consent.
 *
 * Every failure shows one generic page; the precise reason goes to the audit log. No upstream code or token is
 * stored or logged: the verifier, nonce and state are all Gatehouse keeps, and only until the callback.
 */
export const oidcRoutes = new Hono<AppEnv>();

/** The authorization request cookie set by GET /authorize (authorize-routes.tsx); its path covers the callback. */
const REQUEST_COOKIE = "gh_authz";
/** How long the browser may spend at the provider. */
const LOGIN_SECONDS = 600;
const GENERIC = "Signing in with your identity provider did not work. Start again from your app.";

function errorPage(c: Context<AppEnv>, status: 400 | 403 | 502 = 400, message = GENERIC): Response | Promise<Response> {
  htmlPageHeaders(c);
  return c.html(ErrorPage({ message }), status);
}

async function refuse(c: Context<AppEnv>, rule: string, opts: { outcome?: "denied" | "error"; row?: AuthRequestRow | null; detail?: string; status?: 400 | 403 | 502 } = {}): Promise<Response> {
  await recordOAuthRefusal(c, {
    event: "oauth.login",
    outcome: opts.outcome ?? "denied",
    rule,
    ...(opts.row ? { clientId: opts.row.client_id } : {}),
    detail: opts.detail ? `oidc: ${opts.detail}`.slice(0, 300) : "oidc",
  });
  return errorPage(c, opts.status ?? 400);
}

/**
 * What went wrong, for the audit row: oauth4webapi's error code and fixed message, or the provider's OAuth error
 * code. Never the error's `cause`, which can hold response bodies (codes, tokens, claims).
 */
function describe(e: unknown): string {
  // The provider's error code is whatever arrived in the callback URL or the token response: keep it short and plain.
  const code = (s: string) => s.replace(/[^\w.:-]/g, "?").slice(0, 60);
  if (e instanceof oauth.AuthorizationResponseError) return `provider answered ${code(e.error)}`;
  if (e instanceof oauth.ResponseBodyError) return `provider answered ${code(e.error)} (HTTP ${e.status})`;
  if (e instanceof oauth.WWWAuthenticateChallengeError) return `challenge (HTTP ${e.status})`;
  if (e instanceof oauth.OperationProcessingError || e instanceof oauth.UnsupportedOperationError) return `${e.code ?? "error"}: ${e.message}`;
  if (e instanceof UpstreamConfigError) return `configuration: ${e.message}`;
  if (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")) return "timeout";
  if (e instanceof TypeError) return `network: ${e.message}`.slice(0, 120);
  return e instanceof Error ? e.name : "unknown";
}

async function loadUpstream(c: Context<AppEnv>, row: AuthRequestRow | null): Promise<Upstream | Response> {
  try {
    return await upstream(c.env);
  } catch (e) {
    return refuse(c, "oidc_discovery_failed", { outcome: "error", row, detail: describe(e), status: 502 });
  }
}

const redirectUri = (c: Context<AppEnv>): string => `${configFor(c.env).issuer}/authorize/oidc/callback`;

// POST /authorize/oidc: leave for the provider.
oidcRoutes.post("/", async (c) => {
  if (!oidcConfigured(c.env)) return refuse(c, "oidc_not_configured", { status: 403 });
  const form = await c.req.formData().catch(() => new FormData());
  const row = await continuedRequest(c, form);
  if (row instanceof Response) return row;
  const up = await loadUpstream(c, row);
  if (up instanceof Response) return up;

  const now = nowSeconds();
  const login: OidcLoginRow = {
    state: oauth.generateRandomState(),
    request_id: row.id,
    code_verifier: oauth.generateRandomCodeVerifier(),
    nonce: oauth.generateRandomNonce(),
    created_at: now,
    expires_at: Math.min(row.expires_at, now + LOGIN_SECONDS),
  };
  await insertOidcLogin(c.env.DB, login);

  const url = new URL(up.as.authorization_endpoint!);
  url.searchParams.set("client_id", up.client.client_id);
  url.searchParams.set("redirect_uri", redirectUri(c));
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", upstreamScope(c.env.OIDC_GROUPS_CLAIM));
  url.searchParams.set("state", login.state);
  url.searchParams.set("nonce", login.nonce);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(login.code_verifier));
  url.searchParams.set("code_challenge_method", "S256");
  return new Response(null, { status: 303, headers: { Location: url.href, "Cache-Control": "no-store" } });
});

// GET /authorize/oidc/callback: the provider sends the browser back here.
oidcRoutes.get("/callback", async (c) => {
  if (!oidcConfigured(c.env)) return refuse(c, "oidc_not_configured", { status: 403 });
  const current = new URL(c.req.url);
  const states = current.searchParams.getAll("state");
  const state = states[0];
  if (states.length !== 1 || !state || state.length > 200) return refuse(c, "oidc_state_missing");
  const login = await takeOidcLogin(c.env.DB, state);
  const now = nowSeconds();
  const cookie = getCookie(c, REQUEST_COOKIE);
  if (!login) {
    const row = cookie && cookie.length <= 100 ? await getAuthRequest(c.env.DB, cookie, now) : null;
    return refuse(c, "oidc_state_unknown", { row, detail: "no pending sign-in for this state (tampered, replayed or expired)" });
  }
  // Login CSRF: only the browser that started this authorization request may finish it.
  if (cookie !== login.request_id) return refuse(c, "oidc_browser_mismatch", { status: 403 });
  const row = await getAuthRequest(c.env.DB, login.request_id, now);
  if (!row) return refuse(c, "oidc_request_expired");
  if (login.expires_at <= now) return refuse(c, "oidc_login_expired", { row });

  const up = await loadUpstream(c, row);
  if (up instanceof Response) return up;
  const { as, client, clientAuth, http } = up;

  let params: URLSearchParams;
  try {
    // Checks state and, when the provider supports RFC 9207, `iss`; an `error=` answer lands in the catch.
    params = oauth.validateAuthResponse(as, client, current, login.state);
  } catch (e) {
    const rule = e instanceof oauth.AuthorizationResponseError ? "oidc_upstream_error" : "oidc_bad_response";
    return refuse(c, rule, { row, detail: describe(e) });
  }

  let idClaims: oauth.IDToken;
  let userinfo: oauth.UserInfoResponse | undefined;
  try {
    const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri(c), login.code_verifier, http);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: login.nonce, requireIdToken: true });
    // Also verify the ID token's signature with the provider's JWKS: not required over TLS (OIDC Core
    // §3.1.3.7), but cheap, and the loopback providers of dev and tests speak plain http.
    await oauth.validateApplicationLevelSignature(as, response, http);
    idClaims = oauth.getValidatedIdTokenClaims(tokens)!;
    // Providers that follow OIDC Core §5.4 put scope claims only in UserInfo when an access token is issued.
    if (idClaims.email === undefined) {
      const info = await oauth.userInfoRequest(as, client, tokens.access_token, http);
      userinfo = await oauth.processUserInfoResponse(as, client, idClaims.sub, info);
    }
  } catch (e) {
    return refuse(c, "oidc_token_invalid", { row, detail: describe(e) });
  }

  const identity = identityFromClaims(idClaims, userinfo, { groupsClaim: c.env.OIDC_GROUPS_CLAIM, knownGroups: new Set([ADMIN_GROUP, ...(await policyGroupNames(c.env.DB))]) });
  if (!identity.ok) return refuse(c, `oidc_${identity.reason}`, { row, detail: `upstream subject ${idClaims.sub.slice(0, 100)}` });
  const principal = userPrincipalId(identity.email);
  await recordOAuthEvent(c, {
    event: "oauth.login",
    outcome: "ok",
    rule: "oidc",
    principal,
    principalKind: "user",
    clientId: row.client_id,
    detail: `oidc: ${identity.groups.length} group(s)${identity.groupsDropped > 0 ? `, ${identity.groupsDropped} dropped` : ""}`,
  });
  return showConsent(c, row, { email: identity.email, groups: identity.groups });
});
