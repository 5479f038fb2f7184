/**
 * Why a bearer token was refused. The wire answer is always the same generic `invalid_token` (RFC 6750 §3.1);
 * the precise reason goes to the audit row only.
 */
export type TokenFailure =
  | { kind: "missing" }
  | { kind: "in_query" }
  | { kind: "malformed_header" }
  | { kind: "oversized" }
  | { kind: "bad_signature_or_format"; code: string }
  | { kind: "expired" }
  | { kind: "claim_mismatch"; claim: string }
  | { kind: "bad_claims"; reason: string }
  | { kind: "issued_in_future" }
  | { kind: "unknown_key" }
  | { kind: "revoked"; what: string }
  | { kind: "server_misconfigured" };

/** A compact, stable reason string for the audit log. */
export function describeTokenFailure(f: TokenFailure): string {
  switch (f.kind) {
    case "missing":
    case "in_query":
    case "malformed_header":
    case "oversized":
    case "expired":
    case "issued_in_future":
    case "unknown_key":
    case "server_misconfigured":
      return f.kind;
    case "bad_signature_or_format":
      return `${f.kind}:${f.code}`;
    case "claim_mismatch":
      return `${f.kind}:${f.claim}`;
    case "bad_claims":
      return `${f.kind}:${f.reason}`;
    case "revoked":
      return `${f.kind}:${f.what}`;
  }
}

/** RFC 6750 §3: a request with no credentials gets no error code; a bad one gets `invalid_token`. */
export function wireErrorFor(f: TokenFailure): "invalid_request" | "invalid_token" | undefined {
  switch (f.kind) {
    case "missing":
      return undefined;
    case "in_query":
    case "malformed_header":
      return "invalid_request";
    case "oversized":
    case "bad_signature_or_format":
    case "expired":
    case "claim_mismatch":
    case "bad_claims":
    case "issued_in_future":
    case "unknown_key":
    case "revoked":
    case "server_misconfigured":
      return "invalid_token";
  }
}
