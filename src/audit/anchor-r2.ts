import { CompactSign, compactVerify, importJWK, type CryptoKey, type JWK } from "jose";
import type { AuditRow, ChainVerdict } from "./chain";
import { ANCHOR_PREFIX, ANCHOR_TYP, anchorKey, anchorPayload, anchorPublicJwk, isSignedAnchor, parseAnchorKey, type SignedAnchor } from "./anchor";

interface AnchorKeys {
  kid: string;
  publicJwk: JWK;
  sign: CryptoKey;
  verify: CryptoKey;
}

const imported = new Map<string, Promise<AnchorKeys>>();

/** Imports AUDIT_ANCHOR_KEY once per isolate; a malformed key is a configuration error, reported by name. */
export function anchorKeys(text: string): Promise<AnchorKeys> {
  let keys = imported.get(text);
  if (!keys) {
    keys = (async () => {
      const parsed = parseAnchorKey(text);
      if (!parsed.ok) throw new Error(parsed.message);
      const publicJwk = anchorPublicJwk(parsed.jwk);
      return {
        kid: String(parsed.jwk.kid),
        publicJwk,
        sign: (await importJWK({ ...parsed.jwk, alg: "EdDSA" }, "EdDSA")) as CryptoKey,
        verify: (await importJWK(publicJwk, "EdDSA")) as CryptoKey,
      };
    })();
    keys.catch(() => imported.delete(text));
    imported.set(text, keys);
  }
  return keys;
}

/** The newest signed head in R2 (keys count down, so it is the first listed), or null when there is none. */
export async function latestAnchor(bucket: R2Bucket): Promise<{ key: string; anchor: unknown } | null> {
  const listed = await bucket.list({ prefix: ANCHOR_PREFIX, limit: 1 });
  const first = listed.objects[0];
  if (!first) return null;
  const obj = await bucket.get(first.key);
  return { key: first.key, anchor: obj ? await obj.json().catch(() => null) : null };
}

export interface AnchorEnv {
  DB: D1Database;
  AUDIT_ARCHIVE?: R2Bucket;
  AUDIT_ANCHOR_KEY?: string;
  AUDIT_ANCHOR_URL?: string;
  PUBLIC_ORIGIN: string;
}

/**
 * Cron Trigger, after sealing: signs D1's chain head when it is newer than the latest signed head and writes it to R2
 * under a key of its own. An anchor key is written once and never overwritten or deleted by Gatehouse (the put is
 * conditional on the key being absent; the bucket lock rule makes that hold against everyone else too). Optionally
 * POSTs the same JSON to AUDIT_ANCHOR_URL; a failed POST is logged and retried with the next head, never fatal.
 */
export async function anchorHead(env: AnchorEnv, fetcher: typeof fetch = fetch): Promise<SignedAnchor | null> {
  const bucket = env.AUDIT_ARCHIVE;
  if (!bucket || !env.AUDIT_ANCHOR_KEY) return null;
  const head = await env.DB.prepare("SELECT seq, hash, sealed_at FROM audit_anchor WHERE id = 1").first<{ seq: number; hash: string; sealed_at: string }>();
  if (!head) return null;
  const latest = await latestAnchor(bucket);
  if (latest && isSignedAnchor(latest.anchor) && latest.anchor.seq >= head.seq) return null;
  const keys = await anchorKeys(env.AUDIT_ANCHOR_KEY);
  const payload = anchorPayload(env.PUBLIC_ORIGIN, head);
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: "EdDSA", kid: keys.kid, typ: ANCHOR_TYP }).sign(keys.sign);
  const signed: SignedAnchor = { ...payload, kid: keys.kid, jws };
  const body = JSON.stringify(signed);
  const key = anchorKey(head.seq);
  // Write-once: a put conditional on no object existing at the key. Two racing runs sign the same head to the same
  // bytes (Ed25519 is deterministic), so whichever lands first is the anchor.
  if (await bucket.head(key)) return null;
  await bucket.put(key, body, { httpMetadata: { contentType: "application/json" }, onlyIf: { etagDoesNotMatch: "*" } });
  if (env.AUDIT_ANCHOR_URL) {
    try {
      const res = await fetcher(env.AUDIT_ANCHOR_URL, { method: "POST", headers: { "Content-Type": "application/json" }, body, signal: AbortSignal.timeout(5000) });
      if (!res.ok) console.warn(`audit anchor POST answered ${res.status}`);
    } catch (e) {
      console.warn(`audit anchor POST failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return signed;
}

/**
 * Checks the chain (D1 rows, seq order, and the archive's head) against the latest signed head: its signature must
 * verify with AUDIT_ANCHOR_KEY's public part and name the same row hash the chain has at that seq; a chain that ends
 * before it lost its tail. Null when it agrees (or when there is no key or no signed head yet).
 */
export async function checkSignedAnchor(env: AnchorEnv, d1: readonly AuditRow[], archiveHead: { seq: number; hash: string } | null): Promise<ChainVerdict | null> {
  const bucket = env.AUDIT_ARCHIVE;
  if (!bucket || !env.AUDIT_ANCHOR_KEY) return null;
  const latest = await latestAnchor(bucket);
  if (!latest) return null;
  const a = latest.anchor;
  if (!isSignedAnchor(a)) return { ok: false, rows: 0, seq: 0, reason: "anchor_invalid" };
  const keys = await anchorKeys(env.AUDIT_ANCHOR_KEY);
  let payload: unknown;
  try {
    const verified = await compactVerify(a.jws, keys.verify, { algorithms: ["EdDSA"] });
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    return { ok: false, rows: 0, seq: a.seq, reason: "anchor_invalid" };
  }
  const p = payload as Partial<SignedAnchor>;
  if (p.seq !== a.seq || p.hash !== a.hash || latest.key !== anchorKey(a.seq)) return { ok: false, rows: 0, seq: a.seq, reason: "anchor_invalid" };
  const sealed = d1.filter((r) => r.hash !== null);
  const row = sealed.find((r) => r.seq === a.seq);
  if (row) return row.hash === a.hash ? null : { ok: false, rows: 0, seq: a.seq, reason: "anchor_mismatch" };
  if (archiveHead && archiveHead.seq === a.seq) return archiveHead.hash === a.hash ? null : { ok: false, rows: 0, seq: a.seq, reason: "anchor_mismatch" };
  const last = sealed[sealed.length - 1];
  // The chain ends before the signed head: its tail was removed (or D1 was rolled back).
  if (!last || last.seq < a.seq) return { ok: false, rows: 0, seq: a.seq, reason: "anchor_mismatch" };
  // Older than D1's first row and not the archive head: `verify --archive` covers it through the archive.
  return null;
}

/** The published verification key set (JWKS, RFC 7517 §5), or null when no anchor key is configured. */
export async function anchorJwks(text: string | undefined): Promise<{ keys: JWK[] } | null> {
  if (!text) return null;
  return { keys: [(await anchorKeys(text)).publicJwk] };
}
