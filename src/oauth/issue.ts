import type { Bindings } from "../env";
import type { GatewayConfig } from "../http/config";
import { randomId } from "../lib/sha256";
import { signAccessToken } from "./access-token";
import { buildAccessClaims, type AccessClaims, type TokenSubject } from "./claims";
import { loadKeyRing } from "./keys";

/** Signs an access token for a subject; its lifetime follows the scope's most privileged tier (docs/security.md). */
export async function issueAccessToken(env: Bindings, config: GatewayConfig, subject: TokenSubject, now: number, ttl?: number): Promise<{ token: string; claims: AccessClaims }> {
  const ring = await loadKeyRing(env.SIGNING_KEY, env.SIGNING_KEY_PREVIOUS);
  const claims = buildAccessClaims(subject, { issuer: config.issuer, resource: config.resource, now, jti: randomId() }, ttl);
  return { token: await signAccessToken(claims, ring), claims };
}
