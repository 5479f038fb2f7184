import type { GatewayConfig } from "../http/config";
import { TIER_SCOPE, TIERS } from "../policy/tiers";

/** RFC 9728 §3: metadata URL for the resource `<issuer>/mcp` inserts the well-known segment before the path. */
export function resourceMetadataUrl(config: GatewayConfig): string {
  return `${config.issuer}/.well-known/oauth-protected-resource/mcp`;
}

/** RFC 9728 §2 protected-resource metadata. */
export function protectedResourceMetadata(config: GatewayConfig): Record<string, unknown> {
  return {
    resource: config.resource,
    authorization_servers: [config.issuer],
    bearer_methods_supported: ["header"],
    scopes_supported: TIERS.map((t) => TIER_SCOPE[t]),
    resource_name: "Gatehouse",
  };
}

/** RFC 6750 §3 challenge pointing clients at the metadata (RFC 9728 §5.1). */
export function bearerChallenge(config: GatewayConfig, error?: string, extra?: Record<string, string>): string {
  const parts = [`resource_metadata="${resourceMetadataUrl(config)}"`];
  if (error) parts.push(`error="${error}"`);
  for (const [k, v] of Object.entries(extra ?? {})) parts.push(`${k}="${v}"`);
  return `Bearer ${parts.join(", ")}`;
}
