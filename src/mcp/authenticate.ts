import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Caller } from "../env";
import type { AccessClaims } from "../oauth/claims";
import type { PolicySnapshot } from "../policy/types";
import { configFor } from "../http/config";
import { extractBearer } from "../oauth/bearer";
import { verifyAccessToken } from "../oauth/access-token";
import { loadKeyRing } from "../oauth/keys";
import { describeTokenFailure, wireErrorFor, type TokenFailure } from "../oauth/errors";
import { bearerChallenge } from "../oauth/metadata";
import { readCallerState, policyAt } from "../policy/store-d1";
import { principalGroups } from "../policy/evaluate";
import { recordBounded } from "../audit/flood-d1";
import { ipFloodKey } from "../audit/flood";
import { clientIpKey } from "../http/client-ip";
import { requestContext } from "../http/request-context";
import { randomId } from "../lib/sha256";
import { nowSeconds } from "../lib/clock";
import { logFailure } from "../lib/background";

/**
 * Refused credentials are audited, but past 60 rows a minute per IP only counted (audit/flood.ts): an anonymous
 * flood must not fill the audit store that authorised calls depend on (they fail closed without it).
 */
async function auditRefusal(c: Context<AppEnv>, failure: TokenFailure, workspace?: string): Promise<void> {
  await recordBounded(
    c.env,
    ipFloodKey(clientIpKey(c.req.header("cf-connecting-ip"))),
    { id: randomId(), time: new Date(nowSeconds() * 1000).toISOString(), event: "mcp.request", outcome: "denied", rule: `token:${describeTokenFailure(failure)}`, ...(workspace ? { workspace } : {}) },
    requestContext(c),
  );
}

/** `workspace`: only for a token this gateway signed (revoked, or its principal left the policy): that workspace's row. */
export function unauthorized(c: Context<AppEnv>, failure: TokenFailure, workspace?: string, opts: { audited?: boolean } = {}): Response {
  const config = configFor(c.env);
  const error = wireErrorFor(failure);
  if (!opts.audited) c.executionCtx.waitUntil(auditRefusal(c, failure, workspace).catch(logFailure("authentication refusal audit")));
  const status = error === "invalid_request" ? 400 : 401;
  c.header("WWW-Authenticate", bearerChallenge(config, error));
  c.header("Cache-Control", "no-store");
  return c.json(
    { error: error ?? "unauthorized", error_description: error === "invalid_request" ? "Send the access token in the Authorization header only." : "A valid access token is required." },
    status,
  );
}

/**
 * Bearer authentication, the part without I/O (docs/security.md step 1): the token's signature and claims, with
 * the key ring imported once per isolate. Sets `claims`; the caller's state is read by resolveCaller, or for a
 * tool call together with its audit intent (tools/ports-d1.ts).
 */
export const verifyBearer: MiddlewareHandler<AppEnv> = async (c, next) => {
  const config = configFor(c.env);
  const bearer = extractBearer(c.req.header("authorization"), new URL(c.req.url));
  if (!bearer.ok) return unauthorized(c, bearer.failure);
  let ring: Awaited<ReturnType<typeof loadKeyRing>>;
  try {
    ring = await loadKeyRing(c.env.SIGNING_KEY, c.env.SIGNING_KEY_PREVIOUS);
  } catch {
    // A missing or broken SIGNING_KEY is the operator's problem, not the caller's: say so with a 503.
    return c.json({ error: "temporarily_unavailable", error_description: "The gateway is not configured to verify tokens." }, 503);
  }
  const verified = await verifyAccessToken(bearer.token, ring, { issuer: config.issuer, audience: config.resource, now: nowSeconds() });
  if (!verified.ok) return unauthorized(c, verified.failure);
  c.set("claims", verified.claims);
  await next();
};

/** The caller as the token and a policy snapshot describe it; `clientName` once the caller state has been read. */
export function callerOf(claims: AccessClaims, snapshot: PolicySnapshot, clientName?: string): Caller {
  return {
    claims,
    ...(clientName ? { clientName } : {}),
    principal: {
      id: claims.sub,
      kind: claims.pk,
      ...(claims.email !== undefined ? { email: claims.email } : {}),
      groups: principalGroups(snapshot, claims.sub, claims.groups ?? []),
      workspace: claims.ws,
    },
  };
}

/**
 * The caller's state against D1 (one round trip): revocation, workspace membership and the workspace's current
 * policy version, whose snapshot resolves the principal's groups (loaded once per isolate and version). Either
 * the caller and policy, or the 401 to answer.
 */
export async function resolveCaller(c: Context<AppEnv>, claims: AccessClaims): Promise<{ ok: true; caller: Caller; policy: PolicySnapshot } | { ok: false; response: Response }> {
  const state = await readCallerState(c.env.DB, { workspace: claims.ws, sessionId: claims.sid, principal: claims.sub, clientId: claims.client_id, jti: claims.jti, iat: claims.iat });
  if (state.revoked) return { ok: false, response: unauthorized(c, { kind: "revoked", what: state.revoked }, claims.ws) };
  if (!state.member) return { ok: false, response: unauthorized(c, { kind: "bad_claims", reason: "principal_not_in_workspace" }, claims.ws) };
  const policy = await policyAt(c.env.DB, claims.ws, state.version);
  return { ok: true, caller: callerOf(claims, policy, state.clientName), policy };
}

/** Bearer authentication with the caller's state read at once (the admin API); sets `claims`, `caller` and `policy`. */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  let verified = false;
  const refused = await verifyBearer(c, async () => {
    verified = true;
  });
  if (!verified) return refused ?? c.res;
  const resolved = await resolveCaller(c, c.get("claims"));
  if (!resolved.ok) return resolved.response;
  c.set("policy", resolved.policy);
  c.set("caller", resolved.caller);
  await next();
};
