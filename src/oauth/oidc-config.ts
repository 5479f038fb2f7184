import type { Bindings } from "../env";

/** The upstream OpenID Connect provider is configured by OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET. */
export function oidcConfigured(env: Bindings): boolean {
  return Boolean(env.OIDC_ISSUER && env.OIDC_CLIENT_ID && env.OIDC_CLIENT_SECRET);
}

export function oidcLabel(env: Bindings): string {
  return env.OIDC_LABEL || new URL(env.OIDC_ISSUER ?? "https://idp.invalid").host;
}
