import { importJWK, type CryptoKey, type JWK } from "jose";

/** Algorithms Gatehouse signs with; verification pins the one recorded with each key. */
export type SigningAlg = "EdDSA" | "ES256";

export interface KeyEntry {
  kid: string;
  alg: SigningAlg;
  publicJwk: JWK;
  verifyKey: CryptoKey;
  signKey?: CryptoKey;
}

export interface KeyRing {
  current: KeyEntry;
  byKid: Map<string, KeyEntry>;
}

export class KeyConfigError extends Error {
  readonly code = "ERR_KEY_CONFIG";
}

function algFor(jwk: JWK): SigningAlg {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  throw new KeyConfigError("signing keys must be Ed25519 (OKP) or P-256 (EC)");
}

function parseJwk(text: string, name: string): JWK {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new KeyConfigError(`${name} is not a JSON JWK`);
  }
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw new KeyConfigError(`${name} is not a JWK object`);
  const k = jwk as JWK;
  if (typeof k.kid !== "string" || k.kid.length === 0) throw new KeyConfigError(`${name} needs a "kid"`);
  return k;
}

function publicPart(jwk: JWK, alg: SigningAlg): JWK {
  const { kty, crv, x, y, kid } = jwk;
  const pub: JWK = { kty, crv, x, kid, alg, use: "sig" };
  if (y !== undefined) pub.y = y;
  return pub;
}

async function entryFrom(text: string, name: string, needPrivate: boolean): Promise<KeyEntry> {
  const jwk = parseJwk(text, name);
  const alg = algFor(jwk);
  if (needPrivate && typeof jwk.d !== "string") throw new KeyConfigError(`${name} must be a private JWK`);
  const publicJwk = publicPart(jwk, alg);
  const verifyKey = (await importJWK(publicJwk, alg)) as CryptoKey;
  const entry: KeyEntry = { kid: jwk.kid as string, alg, publicJwk, verifyKey };
  if (typeof jwk.d === "string") entry.signKey = (await importJWK({ ...jwk, alg }, alg)) as CryptoKey;
  return entry;
}

/** Key rings an isolate keeps: a deployment has one at a time, two around a rotation; older ones are dropped. */
const MAX_RINGS = 4;
const rings = new Map<string, Promise<KeyRing>>();

/** Imports the key ring once per isolate (key import costs far more than a verification), not per request. */
export function loadKeyRing(current: string | undefined, previous: string | undefined): Promise<KeyRing> {
  if (!current) return Promise.reject(new KeyConfigError("SIGNING_KEY is not set"));
  const cacheKey = `${current}\n${previous ?? ""}`;
  let ring = rings.get(cacheKey);
  if (!ring) {
    ring = (async () => {
      const cur = await entryFrom(current, "SIGNING_KEY", true);
      const byKid = new Map([[cur.kid, cur]]);
      if (previous) {
        const prev = await entryFrom(previous, "SIGNING_KEY_PREVIOUS", false);
        if (!byKid.has(prev.kid)) byKid.set(prev.kid, prev);
      }
      return { current: cur, byKid };
    })();
    ring.catch(() => rings.delete(cacheKey));
    rings.set(cacheKey, ring);
    if (rings.size > MAX_RINGS) rings.delete(rings.keys().next().value as string);
  }
  return ring;
}

/** JWKS document (RFC 7517 §5): the current key and, during rotation, the previous one. Public parts only. */
export function jwks(ring: KeyRing): { keys: JWK[] } {
  return { keys: [...ring.byKid.values()].map((k) => k.publicJwk) };
}
