import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
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

/**
 * Refused credentials are audited, but past 60 rows a minute per IP only counted (audit/flood.ts): an anonymous
 * flood must not fill the audit store that authorised calls depend on (they fail closed without it).
 */
async function auditRefusal(c: Context<AppEnv>, failure: TokenFailure, workspace?: string): Promise<void> {
  await recordBounded(c.env, ipFloodKey(clientIpKey(c.req.header("cf-connecting-ip"))), { id: randomId(), time: new Date(nowSeconds() * 1000).toISOString(), event: "mcp.request", outcome: "denied", rule: `token:${describeTokenFailure(failure)}`, ...(workspace ? { workspace } : {}) }, requestContext(c));
}

/** `workspace`: only for a token this gateway signed (revoked, or its principal left the policy): that workspace's row. */
function unauthorized(c: Context<AppEnv>, failure: TokenFailure, workspace?: string): Response {
  const config = configFor(c.env);
  const error = wireErrorFor(failure);
  c.executionCtx.waitUntil(auditRefusal(c, failure, workspace).catch(() => undefined));
  const status = error === "invalid_request" ? 400 : 401;
  c.header("WWW-Authenticate", bearerChallenge(config, error));
  c.header("Cache-Control", "no-store");
  return c.json({ error: error ?? "unauthorized", error_description: error === "invalid_request" ? "Send the access token in the Authorization header only." : "A valid access token is required." }, status);
}

/**
 * Bearer authentication for /mcp (docs/security.md step 1): verify the token, check revocation against D1, and resolve
 * the principal with its groups against the workspace's current policy version.
 */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const config = configFor(c.env);
  const bearer = extractBearer(c.req.header("authorization"), new URL(c.req.url));
  if (!bearer.ok) return unauthorized(c, bearer.failure);
  let ring;
  try {
    ring = await loadKeyRing(c.env.SIGNING_KEY, c.env.SIGNING_KEY_PREVIOUS);
  } catch {
    // A missing or broken SIGNING_KEY is the operator's problem, not the caller's: say so with a 503.
    return c.json({ error: "temporarily_unavailable", error_description: "The gateway is not configured to verify tokens." }, 503);
  }
  const verified = await verifyAccessToken(bearer.token, ring, { issuer: config.issuer, audience: config.resource, now: nowSeconds() });
  if (!verified.ok) return unauthorized(c, verified.failure);
  const claims = verified.claims;
  const state = await readCallerState(c.env.DB, { workspace: claims.ws, sessionId: claims.sid, principal: claims.sub, clientId: claims.client_id, jti: claims.jti, iat: claims.iat });
  if (state.revoked) return unauthorized(c, { kind: "revoked", what: state.revoked }, claims.ws);
  if (!state.member) return unauthorized(c, { kind: "bad_claims", reason: "principal_not_in_workspace" }, claims.ws);
  const snapshot = await policyAt(c.env.DB, claims.ws, state.version);
  c.set("policy", snapshot);
  c.set("caller", {
    claims,
    ...(state.clientName ? { clientName: state.clientName } : {}),
    principal: {
      id: claims.sub,
      kind: claims.pk,
      ...(claims.email !== undefined ? { email: claims.email } : {}),
      groups: principalGroups(snapshot, claims.sub, claims.groups ?? []),
      workspace: claims.ws,
    },
  });
  await next();
};
