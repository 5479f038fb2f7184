import { sha256Hex } from "../lib/sha256";

function randomToken(prefix: string, bytes = 32): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const b of raw) s += String.fromCharCode(b);
  return `${prefix}${btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/** Opaque credentials. Prefixes make leaked values recognisable to secret scanners. */
export const newRefreshToken = () => randomToken("ghr_");
export const newAuthCode = () => randomToken("ghc_");
export const newClientSecret = () => randomToken("ghs_");
export const newClientId = () => randomToken("ghcl_", 16);

/** Credentials are stored only as SHA-256 hashes: they are high-entropy, so no slow hash is needed. */
export const hashSecret = (value: string) => sha256Hex(value);

/** Constant-time comparison of two equal-length hex digests. */
export function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
