import { ttlForScope } from "../policy/tiers";

/**
 * Access-token claims (RFC 9068 §2.2 plus Gatehouse's own). `ws` names the workspace chosen at consent, `pk` the
 * principal kind, `groups` the IdP groups captured at sign-in (policy groups are resolved from D1 at call time).
 */
export interface AccessClaims {
  iss: string;
  aud: string;
  sub: string;
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope: string;
  sid: string;
  ws: string;
  pk: "user" | "task";
  email?: string;
  groups?: string[];
  /** Task tokens: the only tools this token may call, whatever the policy grants (docs/security.md per-task credentials). */
  tools?: string[];
}

export interface TokenSubject {
  sub: string;
  kind: "user" | "task";
  email?: string;
  groups?: string[];
  workspace: string;
  clientId: string;
  sessionId: string;
  scope: string;
  tools?: string[];
}

export interface ClaimsContext {
  issuer: string;
  resource: string;
  /** Seconds since the epoch. */
  now: number;
  jti: string;
}

export class ClaimsError extends Error {
  constructor(
    readonly code: "ERR_EMPTY_SCOPE" | "ERR_BAD_CLAIMS",
    message: string,
  ) {
    super(message);
  }
}

/** Builds the claims for a new access token; its lifetime is the one its scope's most privileged tier allows. */
export function buildAccessClaims(subject: TokenSubject, ctx: ClaimsContext, ttl = ttlForScope(subject.scope)): AccessClaims {
  if (ttl <= 0) throw new ClaimsError("ERR_EMPTY_SCOPE", "a token needs at least one tier in its scope");
  const claims: AccessClaims = {
    iss: ctx.issuer,
    aud: ctx.resource,
    sub: subject.sub,
    iat: ctx.now,
    exp: ctx.now + Math.min(ttl, ttlForScope(subject.scope)),
    jti: ctx.jti,
    client_id: subject.clientId,
    scope: subject.scope,
    sid: subject.sessionId,
    ws: subject.workspace,
    pk: subject.kind,
  };
  if (subject.email !== undefined) claims.email = subject.email;
  if (subject.groups !== undefined && subject.groups.length > 0) claims.groups = subject.groups;
  if (subject.tools !== undefined) claims.tools = subject.tools;
  return claims;
}

const isString = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/**
 * Checks what signature verification does not: the shape of Gatehouse's own claims and that the token's
 * lifetime (`exp - iat`) is no longer than its scope allows, so a key compromise window or a mis-minted token
 * cannot outlive the tier's TTL. Returns the reason for the audit row, never for the wire.
 */
export function checkAccessClaims(payload: Record<string, unknown>): { ok: true; claims: AccessClaims } | { ok: false; reason: string } {
  const { sub, jti, client_id, scope, sid, ws, pk, exp, iat, email, groups, tools } = payload;
  if (!isString(sub) || !isString(jti) || !isString(client_id) || !isString(sid) || !isString(ws)) return { ok: false, reason: "missing_claim" };
  if (typeof scope !== "string") return { ok: false, reason: "missing_claim" };
  if (pk !== "user" && pk !== "task") return { ok: false, reason: "bad_principal_kind" };
  if (typeof exp !== "number" || typeof iat !== "number") return { ok: false, reason: "missing_claim" };
  const maxTtl = ttlForScope(scope);
  if (maxTtl <= 0) return { ok: false, reason: "empty_scope" };
  if (exp - iat > maxTtl) return { ok: false, reason: "lifetime_over_tier_ttl" };
  if (email !== undefined && typeof email !== "string") return { ok: false, reason: "bad_email" };
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((g) => typeof g === "string"))) return { ok: false, reason: "bad_groups" };
  if (tools !== undefined && !(Array.isArray(tools) && tools.every((t) => typeof t === "string"))) return { ok: false, reason: "bad_tools" };
  return { ok: true, claims: payload as unknown as AccessClaims };
}
