/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../env";
import { configFor, type GatewayConfig } from "../http/config";
import { htmlPageHeaders } from "../http/page-headers";
import { nowSeconds } from "../lib/clock";
import { randomId } from "../lib/sha256";
import { userPrincipalId } from "../policy/compile";
import { redirectLabel } from "./redirect-uri";
import { checkAuthorizeRequest, consentOptions } from "./authorize-request";
import { accessFor } from "./consent-data";
import { ConsentPage, ErrorPage, LoginPage } from "./pages";
import { hashSecret, newAuthCode } from "./secrets";
import { DEFAULT_SESSION_POLICY } from "./session-policy";
import { isKnownUserEmail, isListedIn, listedUsers } from "../policy/store-d1";
import { getAuthRequest, getClient, insertAuthRequest, insertCode, setRequestPrincipal, takeAuthRequest, type AuthRequestRow, type ClientRow } from "./store-d1";
import { oidcConfigured, oidcLabel } from "./oidc-config";
import { recordOAuthEvent, recordOAuthRefusal } from "./audit";
import { clientIpKey } from "../http/client-ip";
import { upstreamAuthorizationEndpoint } from "./oidc-upstream";
import { looksLikeDocumentUrl } from "./cimd";
import { documentClient } from "./cimd-client";
import { logFailure } from "../lib/background";

export const authorizeRoutes = new Hono<AppEnv>();

const COOKIE = "gh_authz";

function showError(c: Context<AppEnv>, message: string, status: 400 | 403 | 429 | 502 = 400): Response | Promise<Response> {
  htmlPageHeaders(c);
  return c.html(<ErrorPage message={message} />, status);
}

function redirectWithError(config: GatewayConfig, uri: string, error: string, description: string, state: string | null): Response {
  const url = new URL(uri);
  url.searchParams.set("error", error);
  url.searchParams.set("error_description", description);
  if (state !== null) url.searchParams.set("state", state);
  url.searchParams.set("iss", config.issuer);
  return new Response(null, { status: 302, headers: { Location: url.href, "Cache-Control": "no-store" } });
}

function bindRequestCookie(c: Context<AppEnv>, config: GatewayConfig, id: string): void {
  setCookie(c, COOKIE, id, { path: "/authorize", httpOnly: true, sameSite: "Lax", secure: config.origin.protocol === "https:", maxAge: DEFAULT_SESSION_POLICY.requestSeconds });
}

/**
 * A form post continues an authorization request only with the request's CSRF token and from the browser that
 * started it (the request-bound cookie), so a forged or replayed form cannot complete someone else's sign-in.
 */
export async function continuedRequest(c: Context<AppEnv>, form: FormData): Promise<AuthRequestRow | Response> {
  const id = form.get("request");
  const csrf = form.get("csrf");
  if (typeof id !== "string" || id.length > 100) return await showError(c, "The sign-in form is incomplete. Start again from your app.");
  if (typeof csrf !== "string") return await showError(c, "This form was not issued to this browser (CSRF check failed). Start again from your app.", 403);
  const row = await getAuthRequest(c.env.DB, id, nowSeconds());
  if (!row) return await showError(c, "This sign-in has expired. Start again from your app.");
  if (getCookie(c, COOKIE) !== id || csrf !== row.csrf) return await showError(c, "This form was not issued to this browser (CSRF check failed). Start again from your app.", 403);
  return row;
}

/**
 * What the pages say about a public client. `documentHost` is set for a client known by its metadata document
 * (oauth/cimd.ts): the host that served it is the one verified fact, since the name is whatever the document says.
 */
async function clientView(db: D1Database, clientId: string, row?: ClientRow): Promise<{ name: string; redirectUris: string[]; documentHost: string | null } | null> {
  const client = row ?? (await getClient(db, clientId));
  if (client?.kind !== "public") return null;
  return {
    name: client.client_name ?? "An MCP client",
    redirectUris: JSON.parse(client.redirect_uris) as string[],
    documentHost: looksLikeDocumentUrl(clientId) ? new URL(clientId).host : null,
  };
}

// GET /authorize (OAuth 2.1 §4.1.1): validate, remember the request, show sign-in.
authorizeRoutes.get("/", async (c) => {
  const config = configFor(c.env);
  const q = new URL(c.req.url).searchParams;
  const clientId = q.get("client_id");
  let client: Awaited<ReturnType<typeof clientView>> = null;
  if (clientId && looksLikeDocumentUrl(clientId)) {
    // A metadata-document client (oauth/cimd-client.ts): fetched and validated before anything else, so every
    // redirect below goes only to a URI the document lists.
    const resolved = await documentClient(c, config, clientId);
    if (!resolved.ok) return showError(c, resolved.message, resolved.status);
    client = await clientView(c.env.DB, clientId, resolved.client);
  } else if (clientId && clientId.length <= 100) client = await clientView(c.env.DB, clientId);
  const checked = checkAuthorizeRequest(q, client ? { client_id: clientId!, redirect_uris: client.redirectUris } : null, config.resource);
  if (!checked.ok) return showError(c, checked.show);
  const p = checked.params;
  // Each sign-in stores a pending request: at most 120 a minute per IP (RL_120), pruned on expiry (prune.ts).
  const { success } = await c.env.RL_120.limit({ key: `authorize:${clientIpKey(c.req.header("cf-connecting-ip"))}` });
  if (!success) {
    await recordOAuthRefusal(c, { event: "oauth.authorize", outcome: "rate_limited", rule: "authorize_per_ip", clientId: p.clientId }).catch(logFailure("authorize refusal audit"));
    return showError(c, "Too many sign-ins from your network in the last minute. Wait a minute and start again from your app.", 429);
  }
  const now = nowSeconds();
  const id = randomId();
  const csrf = randomId();
  await insertAuthRequest(c.env.DB, {
    id,
    csrf,
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    state: p.state,
    code_challenge: p.codeChallenge,
    scope: p.scope,
    created_at: now,
    expires_at: now + DEFAULT_SESSION_POLICY.requestSeconds,
  });
  bindRequestCookie(c, config, id);
  const devUsers = config.loopback ? await listedUsers(c.env.DB) : [];
  // The login post may end at the identity provider, or (nothing granted) back at the client with an error.
  htmlPageHeaders(c, [await upstreamAuthorizationEndpoint(c.env), p.redirectUri]);
  return c.html(
    <LoginPage
      clientName={client!.name}
      clientHost={client!.documentHost}
      redirectHost={redirectLabel(p.redirectUri)}
      requestId={id}
      csrf={csrf}
      devUsers={devUsers}
      oidcLabel={oidcConfigured(c.env) ? oidcLabel(c.env) : null}
    />,
  );
});

/** Shows consent once the user is known (dev login here; the OIDC callback uses the same function). */
export async function showConsent(c: Context<AppEnv>, row: AuthRequestRow, who: { email: string; groups: string[] }): Promise<Response> {
  const principal = userPrincipalId(who.email);
  const access = await accessFor(c.env.DB, principal, who.email, who.groups, nowSeconds());
  const client = await clientView(c.env.DB, row.client_id);
  if (!client) return showError(c, "This client is no longer registered. Start again from your app.");
  const usable = access.filter((a) => consentOptions(a.tiers, a.isAdmin, row.scope, a.isApprover).length > 0);
  if (usable.length === 0) {
    await takeAuthRequest(c.env.DB, row.id);
    await recordOAuthEvent(c, { event: "oauth.consent", outcome: "denied", rule: "nothing_granted", principal, clientId: row.client_id });
    return redirectWithError(configFor(c.env), row.redirect_uri, "access_denied", "Your account has no access that this app asked for.", row.state);
  }
  await setRequestPrincipal(c.env.DB, row.id, { principal, email: who.email, groups: who.groups });
  // Options are the union over the user's workspaces; the POST re-checks them against the chosen workspace.
  const tiers = new Set(usable.flatMap((a) => [...a.tiers]));
  const options = consentOptions(
    tiers,
    usable.some((a) => a.isAdmin),
    row.scope,
    usable.some((a) => a.isApprover),
  ).map((o) => ({
    ...o,
    tools: o.tier === "admin" || o.tier === "approve" ? [] : usable.flatMap((a) => a.toolsByTier.get(o.tier as never) ?? []).filter((t, i, all) => all.indexOf(t) === i),
  }));
  htmlPageHeaders(c, [row.redirect_uri]);
  return c.html(
    <ConsentPage
      clientName={client.name}
      clientHost={client.documentHost}
      redirectHost={redirectLabel(row.redirect_uri)}
      email={who.email}
      requestId={row.id}
      csrf={row.csrf}
      workspaces={usable.map((a) => a.workspace)}
      options={options}
    />,
  );
}

// POST /authorize/login: the dev login (loopback issuer only).
authorizeRoutes.post("/login", async (c) => {
  const config = configFor(c.env);
  if (!config.loopback) return showError(c, "Dev login is available only on a local (loopback) deployment.", 403);
  const form = await c.req.formData().catch(() => new FormData());
  const row = await continuedRequest(c, form);
  if (row instanceof Response) return row;
  const email = form.get("email");
  if (typeof email !== "string" || email.length > 254) return showError(c, "Choose a user.");
  if (!(await isKnownUserEmail(c.env.DB, email.toLowerCase()))) return showError(c, "That user is not in any policy.", 403);
  return showConsent(c, row, { email: email.toLowerCase(), groups: [] });
});

// POST /authorize/consent: allow (with the chosen scope and workspace) or deny; either way the request is spent.
authorizeRoutes.post("/consent", async (c) => {
  const config = configFor(c.env);
  const form = await c.req.formData().catch(() => new FormData());
  const row = await continuedRequest(c, form);
  if (row instanceof Response) return row;
  if (!row.principal_id || !row.email) return showError(c, "Sign in first. Start again from your app.");
  if (!(await takeAuthRequest(c.env.DB, row.id))) return showError(c, "This sign-in was already completed.");
  if (form.get("decision") !== "allow") {
    // The denial belongs to the workspace shown on the form, if the user is listed there; otherwise to none.
    const shown = form.get("workspace");
    const listedIn = typeof shown === "string" && (await isListedIn(c.env.DB, shown, row.principal_id)) ? shown : undefined;
    await recordOAuthEvent(c, { event: "oauth.consent", outcome: "denied", rule: "user_denied", principal: row.principal_id, clientId: row.client_id, ...(listedIn ? { workspace: listedIn } : {}) });
    return redirectWithError(config, row.redirect_uri, "access_denied", "The user denied access.", row.state);
  }
  const groups = row.groups ? (JSON.parse(row.groups) as string[]) : [];
  const workspace = form.get("workspace");
  const access = (await accessFor(c.env.DB, row.principal_id, row.email, groups, nowSeconds())).find((a) => a.workspace === workspace);
  const chosen = new Set(form.getAll("scope").filter((s): s is string => typeof s === "string"));
  if (!access) return redirectWithError(config, row.redirect_uri, "access_denied", "No access in that workspace.", row.state);
  const allowed = consentOptions(access.tiers, access.isAdmin, row.scope, access.isApprover).map((o) => o.scope);
  const scope = allowed.filter((s) => chosen.has(s));
  if (scope.length === 0) return redirectWithError(config, row.redirect_uri, "access_denied", "No access was chosen.", row.state);

  const now = nowSeconds();
  const code = newAuthCode();
  const sessionId = randomId();
  await insertCode(c.env.DB, {
    code_hash: await hashSecret(code),
    client_id: row.client_id,
    redirect_uri: row.redirect_uri,
    code_challenge: row.code_challenge,
    scope: scope.join(" "),
    principal_id: row.principal_id,
    principal_kind: "user",
    email: row.email,
    groups: row.groups,
    workspace_id: access.workspace,
    session_id: sessionId,
    expires_at: now + DEFAULT_SESSION_POLICY.codeSeconds,
  });
  await recordOAuthEvent(c, { event: "oauth.consent", outcome: "ok", principal: row.principal_id, clientId: row.client_id, sessionId, workspace: access.workspace, detail: scope.join(" ") });
  const url = new URL(row.redirect_uri);
  url.searchParams.set("code", code);
  if (row.state !== null) url.searchParams.set("state", row.state);
  url.searchParams.set("iss", config.issuer); // RFC 9207
  return new Response(null, { status: 302, headers: { Location: url.href, "Cache-Control": "no-store" } });
});
