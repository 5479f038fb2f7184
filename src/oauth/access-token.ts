import { SignJWT, jwtVerify, errors as joseErrors, decodeProtectedHeader } from "jose";
import type { AccessClaims } from "./claims";
import { checkAccessClaims } from "./claims";
import type { KeyRing } from "./keys";
import type { TokenFailure } from "./errors";
import { MAX_TOKEN_BYTES } from "./bearer";

/** RFC 9068 §2.1: access tokens carry `typ: at+jwt`. */
export const ACCESS_TOKEN_TYP = "at+jwt";

/** Clock skew tolerated between Gatehouse isolates (seconds). */
const CLOCK_TOLERANCE = 5;

export async function signAccessToken(claims: AccessClaims, ring: KeyRing): Promise<string> {
  const key = ring.current;
  if (!key.signKey) throw new Error("current signing key has no private part");
  const { iss, aud, sub, exp, iat, jti, ...rest } = claims;
  return new SignJWT(rest as unknown as Record<string, unknown>)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(iss)
    .setAudience(aud)
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key.signKey);
}

export type VerifyResult = { ok: true; claims: AccessClaims } | { ok: false; failure: TokenFailure };

/**
 * Verifies an access token per RFC 9068 §4 with everything pinned: the algorithm of the key named by `kid`
 * (never the header's choice), issuer, audience (exactly the MCP resource, single-valued), `typ`, expiry,
 * `iat` not in the future, and a lifetime no longer than the scope's tier allows.
 */
export async function verifyAccessToken(token: string, ring: KeyRing, expect: { issuer: string; audience: string; now: number }): Promise<VerifyResult> {
  if (token.length > MAX_TOKEN_BYTES) return { ok: false, failure: { kind: "oversized" } };
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return { ok: false, failure: { kind: "bad_signature_or_format", code: "ERR_JWS_INVALID" } };
  }
  const entry = kid === undefined ? undefined : ring.byKid.get(kid);
  if (!entry) return { ok: false, failure: { kind: "unknown_key" } };
  let payload: Record<string, unknown>;
  try {
    const result = await jwtVerify(token, entry.verifyKey, {
      algorithms: [entry.alg],
      issuer: expect.issuer,
      audience: expect.audience,
      typ: ACCESS_TOKEN_TYP,
      currentDate: new Date(expect.now * 1000),
      clockTolerance: CLOCK_TOLERANCE,
      requiredClaims: ["iss", "aud", "sub", "exp", "iat", "jti"],
    });
    payload = result.payload as Record<string, unknown>;
  } catch (e) {
    return { ok: false, failure: failureFromJose(e) };
  }
  // A multi-valued audience that merely contains ours would let a token minted for several resources replay here.
  if (payload.aud !== expect.audience) return { ok: false, failure: { kind: "claim_mismatch", claim: "aud" } };
  if (typeof payload.iat === "number" && payload.iat > expect.now + CLOCK_TOLERANCE) return { ok: false, failure: { kind: "issued_in_future" } };
  const checked = checkAccessClaims(payload);
  if (!checked.ok) return { ok: false, failure: { kind: "bad_claims", reason: checked.reason } };
  return { ok: true, claims: checked.claims };
}

function failureFromJose(e: unknown): TokenFailure {
  if (e instanceof joseErrors.JWTExpired) return { kind: "expired" };
  if (e instanceof joseErrors.JWTClaimValidationFailed) return { kind: "claim_mismatch", claim: e.claim };
  if (e instanceof joseErrors.JOSEError) return { kind: "bad_signature_or_format", code: e.code };
  return { kind: "bad_signature_or_format", code: "ERR_UNKNOWN" };
}
