import { generateSigningJwk } from "../local/signing-key";

/**
 * `npm run keys` prints a new Ed25519 signing key as a private JWK, for
 *   npm run -s keys | npx wrangler secret put SIGNING_KEY
 * Rotation: move the old value to SIGNING_KEY_PREVIOUS first, so tokens it signed stay valid until they expire.
 */
console.log(generateSigningJwk());
