import type { TokenFailure } from "./errors";

/** Tokens larger than this are refused before any parsing (docs/security.md: "tokens over a few KB"). */
export const MAX_TOKEN_BYTES = 4096;

/** RFC 6750 §2.1 b64token; the scheme name is case-insensitive (RFC 7235 §2.1). */
const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9\-._~+/]+=*)$/;

/**
 * Extracts the bearer token from the Authorization header (RFC 6750 §2.1). Tokens in a query string
 * (RFC 6750 §2.3) are refused outright: they end up in logs and browser history.
 */
export function extractBearer(authorization: string | null | undefined, url: URL): { ok: true; token: string } | { ok: false; failure: TokenFailure } {
  if (url.searchParams.has("access_token")) return { ok: false, failure: { kind: "in_query" } };
  if (!authorization) return { ok: false, failure: { kind: "missing" } };
  if (authorization.length > MAX_TOKEN_BYTES + 7) return { ok: false, failure: { kind: "oversized" } };
  const match = BEARER.exec(authorization);
  if (!match?.[1]) return { ok: false, failure: { kind: "malformed_header" } };
  return { ok: true, token: match[1] };
}
