import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { configFor, type GatewayConfig } from "../http/config";
import { nowSeconds } from "../lib/clock";
import { utf8Length } from "../tools/utf8";
import { ADMIN_SCOPE, scopeForTiers, tiersInScope } from "../policy/tiers";
import { grantedTools, principalGroups } from "../policy/evaluate";
import { currentPolicy } from "../policy/store-d1";
import { recordOAuthEvent, recordOAuthRefusal } from "./audit";
import { authenticateClient } from "./client-auth";
import { graceBinding, openPair, sameRequester, sealPair, type GraceBinding, type TokenPair } from "./grace-pair";
import { consentOptions } from "./authorize-request";
import { accessFor } from "./consent-data";
import { issueAccessToken } from "./issue";
import { OAuthError } from "./oauth-error";
import { verifyS256 } from "./pkce";
import { hashSecret, newRefreshToken } from "./secrets";
import { DEFAULT_SESSION_POLICY, refreshDecision, sessionState } from "./session-policy";
import { consumeCode, createSession, getRefresh, getSession, isTaskClientRevoked, revokeSession, rotateRefresh, touchClient, type ClientRow, type SessionRow } from "./store-d1";
import { logFailure } from "../lib/background";
import { endDatabaseLogins } from "./database-logins";

export const tokenRoutes = new Hono<AppEnv>();

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

function tokenJson(body: unknown, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...NO_STORE, ...extra } });
}

function sessionSubject(s: SessionRow, scope: string) {
  return {
    sub: s.principal_id,
    kind: s.principal_kind,
    ...(s.email ? { email: s.email } : {}),
    ...(s.groups ? { groups: JSON.parse(s.groups) as string[] } : {}),
    workspace: s.workspace_id,
    clientId: s.client_id,
    sessionId: s.id,
    scope,
  };
}

async function pairFor(c: Context<AppEnv>, config: GatewayConfig, s: SessionRow, scope: string, refreshToken: string, now: number): Promise<TokenPair & { jti: string }> {
  const { token, claims } = await issueAccessToken(c.env, config, sessionSubject(s, scope), now);
  return { access_token: token, refresh_token: refreshToken, expires_in: claims.exp - claims.iat, scope, jti: claims.jti };
}

function respond(pair: TokenPair): Response {
  return tokenJson({ access_token: pair.access_token, token_type: "Bearer", expires_in: pair.expires_in, scope: pair.scope, refresh_token: pair.refresh_token });
}

/**
 * RFC 8707 §2.2 on every grant: this server issues tokens for exactly one resource, so an absent `resource` means
 * it (Claude.ai, Claude Code and the Codex CLI send none) and a present one must equal it.
 */
function checkResource(form: URLSearchParams, config: GatewayConfig): void {
  const resource = form.get("resource");
  if (resource !== null && resource !== config.resource) throw new OAuthError("invalid_target", `resource must be ${config.resource}.`);
}

async function authorizationCode(c: Context<AppEnv>, form: URLSearchParams, client: ClientRow, now: number): Promise<Response> {
  const config = configFor(c.env);
  if (client.kind !== "public") throw new OAuthError("unauthorized_client", "This client may not use authorization_code.");
  const code = form.get("code");
  const verifier = form.get("code_verifier");
  if (!code || code.length > 200) throw new OAuthError("invalid_request", "code is required.");
  if (!verifier) throw new OAuthError("invalid_request", "code_verifier is required (PKCE).");
  checkResource(form, config);
  const { row, first } = await consumeCode(c.env.DB, await hashSecret(code), now);
  if (!row) throw new OAuthError("invalid_grant", "The authorization code is invalid.", "unknown_code");
  c.set("auditWorkspace", row.workspace_id);
  if (!first) {
    // RFC 6749 §4.1.2: a replayed code should revoke what the first use issued.
    await revokeSession(c.env.DB, row.session_id, "code_replay", "gatehouse", now);
    await endDatabaseLogins(c, { kind: "session", value: row.session_id, workspace: row.workspace_id }, { clientId: client.client_id });
    throw new OAuthError("invalid_grant", "The authorization code is invalid.", "code_replay");
  }
  if (row.client_id !== client.client_id) throw new OAuthError("invalid_grant", "The authorization code is invalid.", "code_of_another_client");
  if (row.expires_at <= now) throw new OAuthError("invalid_grant", "The authorization code is invalid.", "code_expired");
  if (form.get("redirect_uri") !== row.redirect_uri) throw new OAuthError("invalid_grant", "The authorization code is invalid.", "redirect_uri_mismatch");
  if (!(await verifyS256(verifier, row.code_challenge))) throw new OAuthError("invalid_grant", "The authorization code is invalid.", "pkce_mismatch");

  const session: SessionRow = {
    id: row.session_id,
    client_id: client.client_id,
    principal_id: row.principal_id,
    principal_kind: row.principal_kind,
    email: row.email,
    groups: row.groups,
    workspace_id: row.workspace_id,
    scope: row.scope,
    created_at: now,
    last_used_at: now,
    expires_at: now + DEFAULT_SESSION_POLICY.absoluteSeconds,
    revoked_at: null,
  };
  const refresh = newRefreshToken();
  const pair = await pairFor(c, config, session, row.scope, refresh, now);
  await createSession(c.env.DB, session, await hashSecret(refresh));
  await touchClient(c.env.DB, client.client_id, now);
  await recordOAuthEvent(c, {
    event: "token.issued",
    outcome: "ok",
    rule: "authorization_code",
    principal: session.principal_id,
    principalKind: "user",
    clientId: client.client_id,
    sessionId: session.id,
    tokenJti: pair.jti,
    workspace: session.workspace_id,
    detail: pair.scope,
  });
  return respond(pair);
}

async function refreshToken(c: Context<AppEnv>, form: URLSearchParams, client: ClientRow, now: number): Promise<Response> {
  const config = configFor(c.env);
  const presented = form.get("refresh_token");
  if (!presented || presented.length > 200) throw new OAuthError("invalid_request", "refresh_token is required.");
  checkResource(form, config);
  const hash = await hashSecret(presented);
  const row = await getRefresh(c.env.DB, hash);
  if (!row) throw new OAuthError("invalid_grant", "The refresh token is invalid.", "unknown_refresh_token");
  const session = await getSession(c.env.DB, row.session_id);
  if (!session) throw new OAuthError("invalid_grant", "The refresh token is invalid.", "no_session");
  c.set("auditWorkspace", session.workspace_id);
  if (session.client_id !== client.client_id) throw new OAuthError("invalid_grant", "The refresh token is invalid.", "refresh_of_another_client");
  const state = sessionState(session, now);
  if (state !== "active") throw new OAuthError("invalid_grant", "The session has ended. Sign in again.", `session_${state}`);

  // Reuse is decided first: a stolen rotated token revokes the session whatever else the request asks for.
  const binding = await graceBinding(c.req.header("user-agent"), c.req.header("cf-connecting-ip"));
  const decision = refreshDecision(row, now);
  if (decision.kind === "grace") return graceOrReuse(c, presented, decision.sealed, session, binding, now);
  if (decision.kind === "reuse") return reuseDetected(c, session, now, "refresh_token_reuse");

  const requested = form.get("scope");
  const sessionScopes = new Set(session.scope.split(" "));
  if (
    requested !== null &&
    !requested
      .split(" ")
      .filter(Boolean)
      .every((s) => sessionScopes.has(s))
  )
    throw new OAuthError("invalid_scope", "A refresh cannot widen the scope.", "scope_widening");
  const explicit = requested !== null && requested.trim() !== "";
  const wanted = explicit ? requested.split(" ").filter(Boolean) : session.scope.split(" ");
  // Access is re-resolved on every refresh, against the workspace's current policy: a user removed from the
  // policy, or from the group that granted a tier, loses it at the next refresh, not at the end of the session.
  const scope = await stillGranted(c, session, wanted, explicit, now);

  const next = newRefreshToken();
  const pair = await pairFor(c, config, session, scope, next, now);
  const won = await rotateRefresh(c.env.DB, hash, await hashSecret(next), session.id, await sealPair(presented, pair, binding), now);
  if (!won) {
    // A concurrent refresh of the same token won the race: return what it issued.
    const again = await getRefresh(c.env.DB, hash);
    const d = again ? refreshDecision(again, now) : ({ kind: "reuse" } as const);
    if (d.kind === "grace") return graceOrReuse(c, presented, d.sealed, session, binding, now);
    return reuseDetected(c, session, now, "refresh_token_reuse");
  }
  await recordOAuthEvent(c, {
    event: "token.refreshed",
    outcome: "ok",
    principal: session.principal_id,
    principalKind: session.principal_kind,
    clientId: client.client_id,
    sessionId: session.id,
    tokenJti: pair.jti,
    workspace: session.workspace_id,
    detail: scope,
  });
  return respond(pair);
}

/**
 * The session's scope narrowed to what the user is still granted in its workspace (tiers through the current
 * policy and the groups from sign-in; admin and approve only while still an admin or approver). Nothing left
 * ends the session. IdP groups themselves are those of the sign-in: Gatehouse keeps no upstream token to ask
 * the provider again, so a change at the provider applies at the next sign-in (within the absolute lifetime).
 */
async function stillGranted(c: Context<AppEnv>, session: SessionRow, wanted: string[], explicit: boolean, now: number): Promise<string> {
  const groups = session.groups ? (JSON.parse(session.groups) as string[]) : [];
  const access = session.email ? (await accessFor(c.env.DB, session.principal_id, session.email, groups, now)).find((a) => a.workspace === session.workspace_id) : undefined;
  const allowed = new Set(access ? consentOptions(access.tiers, access.isAdmin, session.scope, access.isApprover).map((o) => o.scope) : []);
  const scope = wanted.filter((s) => allowed.has(s));
  // A narrowing to scopes that were withdrawn, while others remain, is the client's request to refuse, not a
  // reason to end the session.
  if (scope.length === 0 && explicit && allowed.size > 0) throw new OAuthError("invalid_scope", "The requested scope is no longer granted.", "scope_withdrawn");
  if (scope.length === 0) {
    await revokeSession(c.env.DB, session.id, "access_withdrawn", "gatehouse", now);
    await endDatabaseLogins(c, { kind: "session", value: session.id, workspace: session.workspace_id }, { clientId: session.client_id });
    throw new OAuthError("invalid_grant", "Your access has changed. Sign in again.", "access_withdrawn");
  }
  return scope.join(" ");
}

async function graceOrReuse(c: Context<AppEnv>, presented: string, sealed: string, session: SessionRow, binding: GraceBinding, now: number): Promise<Response> {
  const opened = await openPair(presented, sealed);
  if (!opened) return reuseDetected(c, session, now, "refresh_token_reuse");
  // The grace hands out a live token pair: only to the requester that rotated (same client, checked by the
  // caller; same user agent or IP). Anything else is a replay of a rotated token, i.e. reuse.
  if (!sameRequester(opened.binding, binding)) return reuseDetected(c, session, now, "refresh_grace_other_requester");
  await recordOAuthEvent(c, {
    event: "token.refreshed",
    outcome: "ok",
    rule: "grace_duplicate",
    principal: session.principal_id,
    clientId: session.client_id,
    sessionId: session.id,
    workspace: session.workspace_id,
  });
  return respond(opened.pair);
}

async function reuseDetected(c: Context<AppEnv>, session: SessionRow, now: number, reason: "refresh_token_reuse" | "refresh_grace_other_requester"): Promise<Response> {
  await revokeSession(c.env.DB, session.id, reason, "gatehouse", now);
  await endDatabaseLogins(c, { kind: "session", value: session.id, workspace: session.workspace_id }, { clientId: session.client_id });
  throw new OAuthError("invalid_grant", "The refresh token is invalid.", reason);
}

async function clientCredentials(c: Context<AppEnv>, form: URLSearchParams, client: ClientRow, now: number): Promise<Response> {
  const config = configFor(c.env);
  if (client.kind !== "task" || !client.principal_id || !client.workspace_id) throw new OAuthError("unauthorized_client", "This client may not use client_credentials.");
  if (client.expires_at !== null && client.expires_at <= now) throw new OAuthError("invalid_client", "Client authentication failed.", "task_client_expired");
  checkResource(form, config);
  // Only the task's own workspace's revocations count: another workspace may list a task of the same id.
  if (await isTaskClientRevoked(c.env.DB, { workspace: client.workspace_id, clientId: client.client_id, principal: client.principal_id, createdAt: client.created_at }))
    throw new OAuthError("invalid_client", "Client authentication failed.", "task_client_revoked");
  const snapshot = await currentPolicy(c.env.DB, client.workspace_id);
  const tools = client.tools ? (JSON.parse(client.tools) as string[]) : [];
  const principal = { id: client.principal_id, kind: "task" as const, groups: principalGroups(snapshot, client.principal_id, []), workspace: client.workspace_id };
  const usable = grantedTools(snapshot, principal, now).filter((t) => tools.includes(t.name));
  const requested = form.get("scope");
  const tiers = new Set(usable.map((t) => t.tier));
  const wanted = requested ? tiersInScope(requested).filter((t) => tiers.has(t)) : [...tiers];
  if (requested?.split(" ").includes(ADMIN_SCOPE)) throw new OAuthError("invalid_scope", "Task clients cannot have admin scope.");
  if (wanted.length === 0) throw new OAuthError("invalid_scope", "This task is granted no tools in the requested scope.", "nothing_granted");
  const scope = scopeForTiers(wanted);
  const { token, claims } = await issueAccessToken(
    c.env,
    config,
    { sub: client.principal_id, kind: "task", workspace: client.workspace_id, clientId: client.client_id, sessionId: `task:${client.client_id}`, scope, tools },
    now,
    client.token_ttl ?? undefined,
  );
  await touchClient(c.env.DB, client.client_id, now);
  await recordOAuthEvent(c, {
    event: "token.issued",
    outcome: "ok",
    rule: "client_credentials",
    principal: client.principal_id,
    principalKind: "task",
    clientId: client.client_id,
    tokenJti: claims.jti,
    workspace: client.workspace_id,
    detail: scope,
  });
  return tokenJson({ access_token: token, token_type: "Bearer", expires_in: claims.exp - claims.iat, scope });
}

// POST /token (RFC 6749 §3.2; OAuth 2.1 §3.2).
tokenRoutes.post("/", async (c) => {
  const now = nowSeconds();
  let clientId: string | undefined;
  try {
    const type = c.req.header("content-type") ?? "";
    if (!type.startsWith("application/x-www-form-urlencoded")) throw new OAuthError("invalid_request", "Send the request as application/x-www-form-urlencoded.");
    const text = await c.req.text();
    if (utf8Length(text) > 8192) throw new OAuthError("invalid_request", "Request too large.");
    const form = new URLSearchParams(text);
    for (const key of new Set(form.keys())) if (form.getAll(key).length > 1) throw new OAuthError("invalid_request", `Parameter ${key} is repeated.`);
    if (new URL(c.req.url).search) throw new OAuthError("invalid_request", "Send parameters in the body, not the query string.");
    const client = await authenticateClient(c.env.DB, c.req.header("authorization"), form);
    clientId = client.client_id;
    // Refusals for an authenticated task client, a known code or session are that workspace's rows (audit/visibility.ts).
    if (client.kind === "task" && client.workspace_id) c.set("auditWorkspace", client.workspace_id);
    const grant = form.get("grant_type");
    if (grant === "authorization_code") return await authorizationCode(c, form, client, now);
    if (grant === "refresh_token") return await refreshToken(c, form, client, now);
    if (grant === "client_credentials") return await clientCredentials(c, form, client, now);
    throw new OAuthError("unsupported_grant_type", "grant_type must be authorization_code, refresh_token or client_credentials.");
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    await recordOAuthRefusal(c, { event: "token.refused", outcome: "denied", rule: e.reason, ...(clientId ? { clientId } : {}) }).catch(logFailure("token refusal audit"));
    const extra: Record<string, string> = e.errorCode === "invalid_client" && c.req.header("authorization")?.startsWith("Basic ") ? { "WWW-Authenticate": 'Basic realm="gatehouse"' } : {};
    return tokenJson(e.toJSON(), e.status, extra);
  }
});
