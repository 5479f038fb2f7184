import { generateKeyPairSync, randomBytes } from "node:crypto";

/**
 * A new Ed25519 signing key as a private JWK with a `kid` and `alg`, the format the Worker's SIGNING_KEY secret
 * takes (src/oauth/keys.ts).
 */
export function generateSigningJwk(): string {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`;
  return JSON.stringify({ ...jwk, kid, alg: "EdDSA", use: "sig" });
}

/** A random password of printable, URL-safe characters. */
export function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}
