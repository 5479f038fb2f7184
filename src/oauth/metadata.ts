import type { GatewayConfig } from "../http/config";
import { ADMIN_SCOPE, APPROVE_SCOPE, TIER_SCOPE, TIERS } from "../policy/tiers";

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

/** RFC 8414 §2 authorization-server metadata. */
export function authorizationServerMetadata(config: GatewayConfig): Record<string, unknown> {
  const i = config.issuer;
  return {
    issuer: i,
    authorization_endpoint: `${i}/authorize`,
    token_endpoint: `${i}/token`,
    registration_endpoint: `${i}/register`,
    revocation_endpoint: `${i}/revoke`,
    jwks_uri: `${i}/.well-known/jwks.json`,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
    revocation_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
    scopes_supported: [...TIERS.map((t) => TIER_SCOPE[t]), ADMIN_SCOPE, APPROVE_SCOPE],
    authorization_response_iss_parameter_supported: true,
    resource_indicators_supported: true,
    // A client may use an https URL of its metadata document as client_id (oauth/cimd.ts); DCR stays for the rest.
    client_id_metadata_document_supported: true,
    service_documentation: `${i}/`,
  };
}
