import type { JWK } from "jose";

/**
 * Signed chain heads (docs/audit.md "Anchoring"). After each seal the Cron Trigger signs the chain head with
 * AUDIT_ANCHOR_KEY, a key D1 does not hold, and writes it to R2 under `anchors/`, a prefix a bucket lock rule keeps
 * from being overwritten or deleted. Rewriting D1 alone, even consistently, then disagrees with the latest signed head.
 */
export const ANCHOR_PREFIX = "anchors/";
export const ANCHOR_TYP = "gatehouse-audit-anchor+jws";

/** Largest seq a key can name; keys count down from it, so R2's ascending listing returns the newest anchor first. */
const MAX_SEQ = 999_999_999_999_999;

export function anchorKey(seq: number): string {
  return `${ANCHOR_PREFIX}${String(MAX_SEQ - seq).padStart(15, "0")}.json`;
}

/** What is signed: the head of the deployment's one chain (every workspace's rows are links of it). */
export interface AnchorPayload {
  v: 1;
  iss: string;
  scope: "deployment";
  seq: number;
  hash: string;
  sealed_at: string;
}

/** The stored object: the payload's fields for reading, and the compact JWS (RFC 7515 §7.1) that is checked. */
export interface SignedAnchor extends AnchorPayload {
  kid: string;
  jws: string;
}

export function anchorPayload(iss: string, head: { seq: number; hash: string; sealed_at: string }): AnchorPayload {
  return { v: 1, iss, scope: "deployment", seq: head.seq, hash: head.hash, sealed_at: head.sealed_at };
}

export function isSignedAnchor(v: unknown): v is SignedAnchor {
  if (typeof v !== "object" || v === null) return false;
  const a = v as Partial<SignedAnchor>;
  return a.v === 1 && Number.isInteger(a.seq) && typeof a.hash === "string" && typeof a.jws === "string" && typeof a.kid === "string";
}

/** The public part of an Ed25519 private JWK, as published at /.well-known/gatehouse-audit-anchor.json. */
export function anchorPublicJwk(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: jwk.kid, alg: "EdDSA", use: "sig" };
}

/** AUDIT_ANCHOR_KEY: a private Ed25519 JWK with a kid (`gatehouse keys generate` makes one). */
export function parseAnchorKey(text: string): { ok: true; jwk: JWK } | { ok: false; message: string } {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    return { ok: false, message: "AUDIT_ANCHOR_KEY is not a JSON JWK" };
  }
  if (typeof jwk !== "object" || jwk === null) return { ok: false, message: "AUDIT_ANCHOR_KEY is not a JWK object" };
  const k = jwk as JWK;
  if (k.kty !== "OKP" || k.crv !== "Ed25519" || typeof k.d !== "string" || typeof k.x !== "string") return { ok: false, message: "AUDIT_ANCHOR_KEY must be a private Ed25519 JWK" };
  if (typeof k.kid !== "string" || k.kid.length === 0) return { ok: false, message: 'AUDIT_ANCHOR_KEY needs a "kid"' };
  return { ok: true, jwk: k };
}
