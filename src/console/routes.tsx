/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../env";
import { configFor } from "../http/config";
import { nowSeconds } from "../lib/clock";
import { randomId } from "../lib/sha256";
import { verifyAccessToken } from "../oauth/access-token";
import { loadKeyRing } from "../oauth/keys";
import { recordOAuthEvent, recordOAuthRefusal } from "../oauth/audit";
import { clientIpKey } from "../http/client-ip";
import { s256 } from "../oauth/pkce";
import { hashSecret } from "../oauth/secrets";
import { revokeSession } from "../oauth/store-d1";
import { tokenRoutes } from "../oauth/token-routes";
import { approvalsConsole } from "./approvals-routes";
import { auditConsole } from "./audit-routes";
import { sessionsConsole } from "./sessions-routes";
import { policyConsole } from "./policy-routes";
import { proposalsConsole } from "./proposals-routes";
import { overview } from "./overview";
import { auditConsoleRefusal, isSecureOrigin } from "./auth";
import { forbidden, page, signedIn } from "./guard";
import { MessagePage } from "./pages";
import { CONSOLE_ABSOLUTE_SECONDS, CONSOLE_CLIENT_ID, CONSOLE_LOGIN_SECONDS, CONSOLE_SCOPE, LOGIN_COOKIE, SESSION_COOKIE, consoleCallbackUri, cookieOptions, safeReturnPath } from "./session";
import { endConsoleSession, insertConsoleSession, insertLogin, takeLogin } from "./store-d1";
import { ensureConsoleClient } from "../oauth/listing-d1";
import { logFailure } from "../lib/background";
import { endDatabaseLogins } from "../oauth/database-logins";

/**
 * The web console (`/console`): server-rendered pages for approvers and admins. It signs in through Gatehouse's
 * own authorization server as a first-party public client (authorization code + PKCE S256, the same login and
 * consent as any client), keeps a server-side session in D1 behind an HttpOnly cookie and never holds a token.
 */
export const consoleRoutes = new Hono<AppEnv>();

/** The token endpoint, called in process with this request's id (its audit rows join the sign-in's). */
const tokenEndpoint = new Hono<AppEnv>();
tokenEndpoint.use("*", async (c, next) => {
  c.set("requestId", c.req.header("x-gatehouse-request-id") ?? randomId(8));
  await next();
});
tokenEndpoint.route("/token", tokenRoutes);

// GET /console/login: start the console's own authorization-code request (PKCE S256) at /authorize.
consoleRoutes.get("/login", async (c) => {
  const config = configFor(c.env);
  const now = nowSeconds();
  // Anyone can start a sign-in, and each stores a row: at most 120 a minute per IP, pruned on expiry (prune.ts).
  const { success } = await c.env.RL_120.limit({ key: `console-login:${clientIpKey(c.req.header("cf-connecting-ip"))}` });
  if (!success) {
    await recordOAuthRefusal(c, { event: "console.sign_in", outcome: "rate_limited", rule: "console_login_per_ip", clientId: CONSOLE_CLIENT_ID }).catch(logFailure("console sign-in refusal audit"));
    return page(c, 429, (n) => <MessagePage nonce={n} title="Too many sign-ins" message="Too many sign-ins from your network in the last minute. Wait a minute and try again." />);
  }
  await ensureConsoleClient(c.env.DB, config.issuer, now);
  const state = randomId(16);
  const verifier = randomId(32);
  await insertLogin(c.env.DB, { state, code_verifier: verifier, return_to: safeReturnPath(c.req.query("return_to")), expires_at: now + CONSOLE_LOGIN_SECONDS });
  setCookie(c, LOGIN_COOKIE, state, cookieOptions(isSecureOrigin(c), "/console/callback", CONSOLE_LOGIN_SECONDS));
  const url = new URL(`${config.issuer}/authorize`);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", CONSOLE_CLIENT_ID);
  url.searchParams.set("redirect_uri", consoleCallbackUri(config.issuer));
  url.searchParams.set("scope", CONSOLE_SCOPE);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", await s256(verifier));
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("resource", config.resource);
  c.header("Cache-Control", "no-store");
  return c.redirect(url.href, 302);
});

// GET /console/callback: the authorization response (RFC 6749 §4.1.2, RFC 9207 `iss`).
consoleRoutes.get("/callback", async (c) => {
  const config = configFor(c.env);
  const now = nowSeconds();
  const q = new URL(c.req.url).searchParams;
  const state = q.get("state") ?? "";
  const cookie = getCookie(c, LOGIN_COOKIE);
  deleteCookie(c, LOGIN_COOKIE, { path: "/console/callback" });
  // The state must be the one this browser started (login CSRF), and is used once.
  const login = cookie && cookie === state && state.length <= 64 ? await takeLogin(c.env.DB, state, now) : null;
  if (!login || (q.get("iss") !== null && q.get("iss") !== config.issuer)) {
    await auditConsoleRefusal(c, "sign_in_state");
    return page(c, 400, (n) => <MessagePage nonce={n} title="Sign-in problem" message="This sign-in was not started in this browser, or it expired. Start again." signIn />);
  }
  const error = q.get("error");
  if (error !== null) {
    // access_denied after sign-in: the account may be granted neither admin nor approve (the consent page offered
    // nothing, or the user chose nothing). The consent's own audit row names the user.
    await auditConsoleRefusal(c, `sign_in_${error.replace(/[^a-z_]/g, "").slice(0, 40)}`);
    return error === "access_denied" ? forbidden(c) : page(c, 400, (n) => <MessagePage nonce={n} title="Sign-in problem" message="The sign-in did not complete. Start again." signIn />);
  }
  const code = q.get("code");
  if (!code) return page(c, 400, (n) => <MessagePage nonce={n} title="Sign-in problem" message="The sign-in did not complete. Start again." signIn />);

  // The same token endpoint every client uses (code single use, PKCE, redirect match, audit row), in process.
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    code_verifier: login.code_verifier,
    redirect_uri: consoleCallbackUri(config.issuer),
    client_id: CONSOLE_CLIENT_ID,
    resource: config.resource,
  });
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
  for (const h of ["user-agent", "cf-connecting-ip"]) {
    const v = c.req.header(h);
    if (v) headers[h] = v;
  }
  headers["x-gatehouse-request-id"] = c.get("requestId");
  const res = await tokenEndpoint.fetch(new Request(`${config.issuer}/token`, { method: "POST", headers, body }), c.env, c.executionCtx);
  const token = res.ok ? ((await res.json()) as { access_token?: unknown }).access_token : undefined;
  // Verified like any bearer token, then dropped: the session keeps who, where and what scope — never the token.
  const verified =
    typeof token === "string" ? await verifyAccessToken(token, await loadKeyRing(c.env.SIGNING_KEY, c.env.SIGNING_KEY_PREVIOUS), { issuer: config.issuer, audience: config.resource, now }) : null;
  if (!verified?.ok || verified.claims.client_id !== CONSOLE_CLIENT_ID || verified.claims.pk !== "user") {
    await auditConsoleRefusal(c, "code_exchange");
    return page(c, 400, (n) => <MessagePage nonce={n} title="Sign-in problem" message="The sign-in could not be completed. Start again." signIn />);
  }
  const claims = verified.claims;
  const id = randomId(32);
  const csrf = randomId(32);
  await insertConsoleSession(c.env.DB, {
    id_hash: await hashSecret(id),
    csrf,
    oauth_session_id: claims.sid,
    principal_id: claims.sub,
    email: claims.email ?? null,
    groups: claims.groups ? JSON.stringify(claims.groups) : null,
    workspace_id: claims.ws,
    scope: claims.scope,
    created_at: now,
    last_seen_at: now,
    expires_at: now + CONSOLE_ABSOLUTE_SECONDS,
  });
  await recordOAuthEvent(c, {
    event: "console.sign_in",
    outcome: "ok",
    principal: claims.sub,
    principalKind: "user",
    clientId: CONSOLE_CLIENT_ID,
    sessionId: claims.sid,
    workspace: claims.ws,
    detail: claims.scope,
  });
  setCookie(c, SESSION_COOKIE, id, cookieOptions(isSecureOrigin(c), "/console", CONSOLE_ABSOLUTE_SECONDS));
  c.header("Cache-Control", "no-store");
  return c.redirect(login.return_to, 302);
});

// POST /console/logout: ends the console session and revokes the OAuth session it came from.
consoleRoutes.post("/logout", (c) =>
  signedIn(c, async (user) => {
    const oauthSession = await endConsoleSession(c.env.DB, user.sessionHash);
    if (oauthSession) {
      await revokeSession(c.env.DB, oauthSession, "console_sign_out", user.principal, nowSeconds());
      await endDatabaseLogins(c, { kind: "session", value: oauthSession, workspace: user.workspace }, { principal: user.principal });
    }
    await recordOAuthEvent(c, {
      event: "console.sign_out",
      outcome: "ok",
      principal: user.principal,
      principalKind: "user",
      clientId: CONSOLE_CLIENT_ID,
      workspace: user.workspace,
      ...(oauthSession ? { sessionId: oauthSession } : {}),
    });
    deleteCookie(c, SESSION_COOKIE, { path: "/console" });
    return page(c, 200, (n) => <MessagePage nonce={n} title="Signed out" message="You are signed out of the Gatehouse console." signIn />);
  }),
);

// Admins land on the overview; approvers on their inbox.
consoleRoutes.get("/", (c) => signedIn(c, async (user) => (user.roles.admin ? overview(c, user) : c.redirect("/console/approvals", 302))));
consoleRoutes.route("/approvals", approvalsConsole);
consoleRoutes.route("/audit", auditConsole);
consoleRoutes.route("/sessions", sessionsConsole);
consoleRoutes.route("/policy", policyConsole);
consoleRoutes.route("/proposals", proposalsConsole);
consoleRoutes.all("*", (c) => signedIn(c, async (user) => page(c, 404, (n) => <MessagePage nonce={n} user={user} title="Not found" message="There is no console page here." />)));
