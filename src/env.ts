import type { Caller } from "./caller";
import type { AccessClaims } from "./oauth/claims";
import type { PolicySnapshot } from "./policy/types";

/**
 * Worker bindings: the generated `Env` (wrangler types) plus secrets, which wrangler cannot see.
 * Database role connection strings are secrets too, but their names come from the policy, so they are read
 * through `readSecret` rather than typed here.
 */
export type Bindings = Env & {
  /** Current signing key, a private JWK (EdDSA/Ed25519 or ES256) with a `kid`. */
  SIGNING_KEY?: string;
  /** Previous signing key (public or private JWK), accepted for verification during rotation. */
  SIGNING_KEY_PREVIOUS?: string;
  /** Upstream OpenID Connect provider (docs/security.md): issuer URL, client id and secret, optional label and claims. */
  OIDC_ISSUER?: string;
  OIDC_CLIENT_ID?: string;
  OIDC_CLIENT_SECRET?: string;
  OIDC_LABEL?: string;
  OIDC_GROUPS_CLAIM?: string;
  /**
   * HMAC-SHA-256 key (base64url, at least 32 random bytes) that derives the password of each per-token database
   * login of a dynamic credential (docs/configuration.md "Short-lived database credentials"). Without it, dynamic
   * credentials are unusable.
   */
  DYNAMIC_ROLE_KEY?: string;
  /** Dev only: shared secret the dev tools send to /dev/* (local/stack.ts generates it). */
  DEV_SECRET?: string;
  /**
   * One-time secret for `gatehouse policy bootstrap` (POST /admin/api/bootstrap): applies the first policy while no
   * workspace has one, refused ever after. At least 32 characters; delete it once the first policy is applied.
   */
  BOOTSTRAP_TOKEN?: string;
  /** Optional: POSTed a small JSON notice for each new approval request. */
  APPROVAL_WEBHOOK_URL?: string;
  /**
   * Optional: a private Ed25519 JWK that signs the audit chain's head after each seal (docs/audit.md "Anchoring");
   * its public part is published at /.well-known/gatehouse-audit-anchor.json. D1 never holds it.
   */
  AUDIT_ANCHOR_KEY?: string;
  /** Optional: each signed chain head is also POSTed here (JSON), e.g. to a log service outside Cloudflare. */
  AUDIT_ANCHOR_URL?: string;
  /** Optional: base URL of an OTLP/HTTP receiver for audit telemetry (docs/audit.md "OpenTelemetry"). */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  /** Optional secret: `key=value,…` headers sent with every OTLP request. */
  OTEL_EXPORTER_OTLP_HEADERS?: string;
};

export type { Caller } from "./caller";

export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    /** The verified access token's claims (/mcp, before the caller's state is read). */
    claims: AccessClaims;
    caller: Caller;
    policy: PolicySnapshot;
    /** The workspace an OAuth request turned out to concern (a known session, code or task client): its audit rows' workspace. */
    auditWorkspace: string | undefined;
  };
}

/** Reads a string binding by a name that comes from configuration (a policy's `secret`). */
export function readSecret(env: Bindings, name: string): string | undefined {
  const value: unknown = Reflect.get(env, name);
  return typeof value === "string" && value.length > 0 ? value : undefined;
}
