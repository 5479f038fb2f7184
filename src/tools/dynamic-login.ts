import { sha256Hex } from "../lib/sha256";

/**
 * The per-token database login of a dynamic credential (docs/configuration.md "Short-lived database credentials").
 * Everything here is derived, nothing is stored: the role name from the token's jti and the tier role, the password
 * from the role name under the DYNAMIC_ROLE_KEY secret, and the SCRAM-SHA-256 verifier the broker stores for it
 * from both. So the hot path needs no lookup, and D1 holds no database credential.
 */

/** Seconds a login stays valid past its token's `exp`: a call admitted just before expiry may still finish (statement timeouts are at most 15 s). */
export const LOGIN_GRACE_SECONDS = 60;
/** RFC 7677 §4: at least 4096 iterations; Postgres' own default. */
export const SCRAM_ITERATIONS = 4096;
/** The shape of every per-token login; the broker's functions refuse any other name. */
export const LOGIN_ROLE = /^gh_[0-9a-f]{16}$/;

const utf8 = new TextEncoder();

/**
 * `gh_` + the first 16 hex digits of SHA-256(jti ‖ NUL ‖ tier role): fixed-shape whatever the jti's format, and
 * distinct for two dynamic credentials with different tier roles used by one token.
 */
export async function dynamicRoleName(jti: string, tierRole: string): Promise<string> {
  return `gh_${(await sha256Hex(`${jti}\0${tierRole}`)).slice(0, 16)}`;
}

const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC-SHA-256 key of DYNAMIC_ROLE_KEY (base64url, RFC 4648 §5), imported once per isolate. */
export function importRoleKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    // One deployment has one key (two around a rotation); the map stays tiny.
    if (keys.size >= 4) keys.clear();
    key = crypto.subtle.importKey("raw", fromBase64Url(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
    key.catch(() => keys.delete(secret));
  }
  return key;
}

async function hmac(key: CryptoKey, text: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(text)));
}

/** The login's password: base64url(HMAC-SHA-256(DYNAMIC_ROLE_KEY, role name)); printable ASCII, so SASLprep leaves it unchanged. */
export async function loginPassword(key: CryptoKey, role: string): Promise<string> {
  return toBase64Url(await hmac(key, role));
}

/**
 * The verifier Postgres stores for the login (RFC 5802 §3, RFC 7677), in Postgres' format
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (standard base64). Deterministic: the salt is the first
 * 16 bytes of HMAC-SHA-256(key, "salt" ‖ NUL ‖ role), so every Worker derives the same verifier, and the broker is
 * sent the verifier, never the password (a logged statement shows nothing that logs in).
 */
export async function scramVerifier(key: CryptoKey, role: string): Promise<string> {
  const [password, salt] = await Promise.all([loginPassword(key, role), hmac(key, `salt\0${role}`)]);
  return scramVerifierOf(password, salt.slice(0, 16), SCRAM_ITERATIONS);
}

/** RFC 5802 §3: SaltedPassword = Hi(password, salt, i); StoredKey = H(HMAC(SaltedPassword, "Client Key")); ServerKey = HMAC(SaltedPassword, "Server Key"). */
export async function scramVerifierOf(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<string> {
  const base = await crypto.subtle.importKey("raw", utf8.encode(password), "PBKDF2", false, ["deriveBits"]);
  const salted = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, 256);
  const saltedKey = await crypto.subtle.importKey("raw", salted, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const [clientKey, serverKey] = await Promise.all([hmac(saltedKey, "Client Key"), hmac(saltedKey, "Server Key")]);
  const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey));
  return `SCRAM-SHA-256$${iterations}:${toBase64(salt)}$${toBase64(storedKey)}:${toBase64(serverKey)}`;
}

/**
 * The broker's connection string with the login's name and password in place of the broker's: same host, database
 * and parameters. Undefined when `brokerUrl` is not a postgres(ql):// URL with a host.
 */
export function loginConnectionString(brokerUrl: string, role: string, password: string): string | undefined {
  let url: URL;
  try {
    url = new URL(brokerUrl);
  } catch {
    return undefined;
  }
  if ((url.protocol !== "postgres:" && url.protocol !== "postgresql:") || url.host === "") return undefined;
  url.username = role;
  url.password = password;
  return url.href;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
