import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { compactVerify, importJWK } from "jose";
import { anchorHead, anchorJwks, latestAnchor } from "../../src/audit/anchor-r2";
import { ANCHOR_PREFIX, anchorKey, type SignedAnchor } from "../../src/audit/anchor";
import { rowHash, verifyChain, type AuditRow } from "../../src/audit/chain";
import { sealAudit } from "../../src/audit/seal-d1";
import { verifyDeploymentChain } from "../../src/audit/verify-d1";

// Signed chain heads of docs/audit.md "Anchoring", on Miniflare's R2. The anchor key is made here (AUDIT_ANCHOR_KEY
// is a Worker secret); the functions get it the way the Cron Trigger and the admin API pass theirs.

let key: string;
const bucket = env.AUDIT_ARCHIVE;
const anchorEnv = () => ({ DB: env.DB, AUDIT_ARCHIVE: bucket, AUDIT_ANCHOR_KEY: key, PUBLIC_ORIGIN: "http://127.0.0.1:8787" });

beforeAll(async () => {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  key = JSON.stringify({ ...(await crypto.subtle.exportKey("jwk", pair.privateKey)), kid: "anchor-test" });
});

let n = 0;
async function addRows(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await env.DB.prepare("INSERT INTO audit_events (id, time, event, outcome, principal) VALUES (?, ?, 'anchor.test', 'ok', 'user:t@example.com')")
      .bind(`anchor-${n++}`, new Date().toISOString())
      .run();
  }
  await sealAudit(env.DB, Date.now());
}

/** A bucket that records every call, to show the anchor code never deletes or rewrites a key under anchors/. */
function recording(target: R2Bucket, calls: Array<[string, string]>): R2Bucket {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (typeof args[0] === "string") calls.push([String(prop), args[0]]);
        return Reflect.apply(v, t, args);
      };
    },
  });
}

describe("signed chain heads", () => {
  it("signs each new head with AUDIT_ANCHOR_KEY under anchors/, verifiable with the published key, and POSTs it when AUDIT_ANCHOR_URL is set", async () => {
    await addRows(3);
    const posted: string[] = [];
    const fetcher = (async (_url: string, init?: RequestInit) => {
      posted.push(String(init?.body));
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    const signed = await anchorHead({ ...anchorEnv(), AUDIT_ANCHOR_URL: "https://anchors.example.com/in" }, fetcher);
    const head = await env.DB.prepare("SELECT seq, hash FROM audit_anchor WHERE id = 1").first<{ seq: number; hash: string }>();
    expect(signed).toMatchObject({ seq: head!.seq, hash: head!.hash, scope: "deployment", kid: "anchor-test" });
    const stored = (await (await bucket.get(anchorKey(head!.seq)))!.json()) as SignedAnchor;
    expect(stored).toEqual(signed);
    expect(posted.map((b) => JSON.parse(b) as SignedAnchor)).toEqual([signed]);

    const jwks = await anchorJwks(key);
    expect(jwks!.keys[0]).not.toHaveProperty("d");
    const verified = await compactVerify(stored.jws, await importJWK(jwks!.keys[0]!, "EdDSA"));
    expect(JSON.parse(new TextDecoder().decode(verified.payload))).toMatchObject({ seq: head!.seq, hash: head!.hash, scope: "deployment" });
    expect((await latestAnchor(bucket))!.key).toBe(anchorKey(head!.seq)); // newest first in R2's listing

    // Nothing new sealed: nothing new signed.
    expect(await anchorHead(anchorEnv())).toBeNull();
  });

  it("never overwrites or deletes an anchor key", async () => {
    const calls: Array<[string, string]> = [];
    const env2 = { ...anchorEnv(), AUDIT_ARCHIVE: recording(bucket, calls) };
    await addRows(1);
    // Someone already wrote the next head's key: the Worker leaves it as it is.
    const head = await env.DB.prepare("SELECT seq FROM audit_anchor WHERE id = 1").first<{ seq: number }>();
    await bucket.put(anchorKey(head!.seq), "occupied");
    expect(await anchorHead(env2)).toBeNull();
    expect(await (await bucket.get(anchorKey(head!.seq)))!.text()).toBe("occupied");
    await bucket.delete(anchorKey(head!.seq));
    for (let i = 0; i < 3; i++) {
      await addRows(1);
      await anchorHead(env2);
      await anchorHead(env2);
    }
    const anchorCalls = calls.filter(([, k]) => k.startsWith(ANCHOR_PREFIX));
    expect(anchorCalls.filter(([op]) => op === "delete")).toEqual([]);
    const puts = anchorCalls.filter(([op]) => op === "put").map(([, k]) => k);
    expect(puts.length).toBe(3);
    expect(new Set(puts).size).toBe(puts.length);
  });

  it("fails verification when D1 is rewritten consistently (row, chain and D1's own anchor), because the signed head disagrees", async () => {
    await addRows(4);
    await anchorHead(anchorEnv());
    expect(await verifyDeploymentChain(env.DB, anchorEnv())).toMatchObject({ ok: true });

    // Someone with write access to D1 edits a row and recomputes every hash after it, and D1's anchor.
    const rows = (await env.DB.prepare("SELECT * FROM audit_events WHERE hash IS NOT NULL ORDER BY seq").all<AuditRow>()).results;
    const target = rows.findIndex((r) => r.id === `anchor-${n - 2}`);
    let prev = rows[target]!.prev_hash!;
    for (const row of rows.slice(target)) {
      const edited = row.id === `anchor-${n - 2}` ? { ...row, principal: "user:someone-else@example.com" } : row;
      const hash = await rowHash(prev, { ...edited, prev_hash: null, hash: null });
      await env.DB.prepare("UPDATE audit_events SET principal = ?, prev_hash = ?, hash = ? WHERE seq = ?").bind(edited.principal, prev, hash, row.seq).run();
      prev = hash;
    }
    await env.DB.prepare("UPDATE audit_anchor SET hash = ? WHERE id = 1").bind(prev).run();
    const d1 = (await env.DB.prepare("SELECT * FROM audit_events ORDER BY seq").all<AuditRow>()).results;
    const d1Anchor = await env.DB.prepare("SELECT seq, hash FROM audit_anchor WHERE id = 1").first<{ seq: number; hash: string }>();
    expect(await verifyChain(d1, d1Anchor)).toMatchObject({ ok: true }); // D1 alone cannot tell
    const last = rows[rows.length - 1]!;
    expect(await verifyDeploymentChain(env.DB, anchorEnv())).toMatchObject({ ok: false, reason: "anchor_mismatch", seq: last.seq });
  });

  it("rejects a signed head whose signature does not verify", async () => {
    await addRows(1);
    const head = await env.DB.prepare("SELECT seq, hash FROM audit_anchor WHERE id = 1").first<{ seq: number; hash: string }>();
    // A forged anchor (written by someone without the key, past the bucket lock) naming D1's current head.
    const other = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const forgedKey = JSON.stringify({ ...(await crypto.subtle.exportKey("jwk", other.privateKey)), kid: "anchor-test" });
    await anchorHead({ ...anchorEnv(), AUDIT_ANCHOR_KEY: forgedKey });
    expect((await latestAnchor(bucket))!.key).toBe(anchorKey(head!.seq));
    expect(await verifyDeploymentChain(env.DB, anchorEnv())).toMatchObject({ ok: false, reason: "anchor_invalid" });
  });
});
