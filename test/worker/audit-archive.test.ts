import { createExecutionContext, createScheduledController, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { setDevClockOffset } from "../../src/lib/clock";
import { archiveAudit, archiveProgress, gunzip, purgeArchived, sha256Bytes } from "../../src/audit/archive-r2";
import { INDEX_PREFIX, OBJECT_PREFIX, fromJsonl, manifestKey, type BatchIndex, type ObjectManifest } from "../../src/audit/archive";
import { verifyWithArchive } from "../../src/audit/verify-d1";
import { sealAudit } from "../../src/audit/seal-d1";
import { tokenFor } from "./tokens";

// The archive of docs/audit.md "Archive" on Miniflare's R2 (the AUDIT_ARCHIVE binding of wrangler.toml). Rows are
// inserted with old times; the Cron run is judged by a clock two hours ahead (the dev clock offset), so every row
// written so far belongs to a finished hour and is archivable.

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const bucket = env.AUDIT_ARCHIVE;

afterEach(() => setDevClockOffset(0));

// Rows are written in time order in a deployment; the setup's own rows (written now) would sit in front of the old
// rows each test inserts, so they go first. The tests then share this file's storage, in order.
beforeAll(async () => {
  await env.DB.prepare("DELETE FROM audit_events").run();
});

async function insert(id: string, ageMs: number, workspace: string | null): Promise<void> {
  await env.DB.prepare("INSERT INTO audit_events (id, time, event, outcome, workspace, principal) VALUES (?, ?, 'archive.test', 'ok', ?, 'user:t@example.com')")
    .bind(id, new Date(Date.now() - ageMs).toISOString(), workspace)
    .run();
}

async function cronAhead(): Promise<void> {
  setDevClockOffset(2 * 3600);
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now() + 2 * HOUR, cron: "* * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
  setDevClockOffset(0);
}

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
    out.push(...page.objects.map((o) => o.key));
    if (!page.truncated) return out;
    cursor = page.cursor;
  }
}

async function verifyArchive(): Promise<Record<string, unknown>> {
  const token = await tokenFor("admin@example.com", "gatehouse:admin");
  let rows = 0;
  let query = "archive=1";
  for (;;) {
    const res = await SELF.fetch(`http://127.0.0.1:8787/admin/api/audit/verify?${query}`, { headers: { Authorization: `Bearer ${token}` } });
    const verdict = (await res.json()) as Record<string, unknown> & { rows: number; next?: { after: number; prev: string } };
    rows += verdict.rows;
    if (!verdict.ok || !verdict.next) return { ...verdict, rows };
    query = `archive=1&after=${verdict.next.after}&prev=${verdict.next.prev}`;
  }
}

const idsInD1 = async () => (await env.DB.prepare("SELECT id FROM audit_events WHERE event = 'archive.test' ORDER BY seq").all<{ id: string }>()).results.map((r) => r.id);

describe("the audit archive", () => {
  it("archives sealed rows as gzip JSONL per workspace and day with manifests, purges only archived rows past the hot window, and verifies across both", async () => {
    await insert("old-demo-1", 40 * DAY, "demo");
    await insert("old-none", 40 * DAY, null);
    await insert("old-demo-2", 40 * DAY - 1000, "demo");
    await insert("recent-demo", 2 * DAY, "demo");
    await cronAhead();

    const objects = await keys(OBJECT_PREFIX);
    const day = new Date(Date.now() - 40 * DAY).toISOString().slice(0, 10);
    expect(objects.some((k) => k.startsWith(`audit/demo/${day}/`) && k.endsWith(".jsonl.gz"))).toBe(true);
    expect(objects.some((k) => k.startsWith(`audit/_none/${day}/`) && k.endsWith(".manifest.json"))).toBe(true);
    const index = (await keys(INDEX_PREFIX)).at(-1)!;
    const entry = (await (await bucket.get(index))!.json()) as BatchIndex;
    const progress = await archiveProgress(env.DB);
    expect(progress).toMatchObject({ seq: entry.last_seq, hash: entry.head_hash, index_key: index });

    // Every object matches its manifest: SHA-256 of the stored bytes, row count, seq range and head hash.
    for (const o of entry.objects) {
      const bytes = new Uint8Array(await (await bucket.get(o.key))!.arrayBuffer());
      const manifest = (await (await bucket.get(manifestKey(o.key)))!.json()) as ObjectManifest;
      expect(manifest).toEqual(o);
      expect(await sha256Bytes(bytes)).toBe(manifest.sha256);
      const rows = fromJsonl(await gunzip(bytes));
      expect(rows.length).toBe(manifest.rows);
      expect(rows.every((r) => (r.workspace ?? "_none") === manifest.workspace && String(r.time).startsWith(manifest.day))).toBe(true);
      expect(rows.at(-1)!.hash).toBe(manifest.head_hash);
    }
    const demo = entry.objects.find((o) => o.workspace === "demo" && o.day === day)!;
    expect(fromJsonl(await gunzip(await (await bucket.get(demo.key))!.arrayBuffer())).map((r) => r.id)).toEqual(["old-demo-1", "old-demo-2"]);

    // Past the 30-day hot window and archived: gone from D1. Inside the window: kept, though archived too.
    expect(await idsInD1()).toEqual(["recent-demo"]);
    expect(await verifyArchive()).toMatchObject({ ok: true });

    // The export reads the archive in the admin's scope: a workspace admin gets its own workspace's rows only.
    const res = await SELF.fetch("http://127.0.0.1:8787/admin/api/audit/archive?event=archive.test", {
      headers: { Authorization: `Bearer ${await tokenFor("admin@example.com", "gatehouse:admin")}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-archive-end")).toBe(String(entry.last_seq));
    const exported = (await res.text())
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; workspace: string | null });
    expect(exported.map((r) => r.id)).toEqual(["old-demo-1", "old-demo-2", "recent-demo"]);
    const bad = await SELF.fetch("http://127.0.0.1:8787/admin/api/audit/archive?nope=1", { headers: { Authorization: `Bearer ${await tokenFor("admin@example.com", "gatehouse:admin")}` } });
    expect(bad.status).toBe(400);
  });

  it("is idempotent: a second run writes nothing new and moves nothing", async () => {
    await insert("again-1", 50 * DAY, "demo");
    await cronAhead();
    const before = { objects: await keys(OBJECT_PREFIX), index: await keys(INDEX_PREFIX), progress: await archiveProgress(env.DB) };
    await cronAhead();
    expect({ objects: await keys(OBJECT_PREFIX), index: await keys(INDEX_PREFIX), progress: await archiveProgress(env.DB) }).toEqual(before);
    expect(await verifyArchive()).toMatchObject({ ok: true });
  });

  it("resumes after a failure between the puts and the purge: nothing is purged before the index entry is durable, and the retry writes the same keys", async () => {
    await insert("resume-1", 45 * DAY, "demo");
    await insert("resume-2", 45 * DAY, "demo");
    const now = Date.now() + 2 * HOUR;
    await sealAudit(env.DB, now);
    const progress = await archiveProgress(env.DB);
    // The index put fails: the objects and manifests are in R2, progress has not moved, so nothing is purged.
    const failing = new Proxy(bucket, {
      get(target, prop) {
        if (prop === "put")
          return (key: string, ...rest: unknown[]) => (key.startsWith(INDEX_PREFIX) ? Promise.reject(new Error("R2 unavailable")) : Reflect.apply(target.put, target, [key, ...rest]));
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    await expect(archiveAudit(env.DB, failing, now)).rejects.toThrow("R2 unavailable");
    expect(await archiveProgress(env.DB)).toEqual(progress);
    expect(await purgeArchived(env.DB, now, 30)).toBe(0);
    expect(await idsInD1()).toContain("resume-1");
    const written = await keys(OBJECT_PREFIX);

    // The index put succeeded but recording progress did not: the next run adopts that index entry.
    await archiveAudit(env.DB, bucket, now);
    const after = await archiveProgress(env.DB);
    expect(after!.seq).toBeGreaterThan(progress?.seq ?? 0);
    expect(await keys(OBJECT_PREFIX)).toEqual(written);
    const indexKeys = await keys(INDEX_PREFIX);
    if (progress) await env.DB.prepare("UPDATE audit_archive SET seq = ?, hash = ?, index_key = ? WHERE id = 1").bind(progress.seq, progress.hash, progress.index_key).run();
    else await env.DB.prepare("DELETE FROM audit_archive").run();
    await archiveAudit(env.DB, bucket, now);
    expect(await archiveProgress(env.DB)).toMatchObject({ seq: after!.seq, index_key: after!.index_key });
    expect(await keys(INDEX_PREFIX)).toEqual(indexKeys);

    // Judged 100 days on, every row is past the window: exactly the archived ones go.
    expect(await purgeArchived(env.DB, now + 100 * DAY, 30)).toBeGreaterThan(0);
    expect(await idsInD1()).not.toContain("resume-1");
    expect(await verifyArchive()).toMatchObject({ ok: true });
  });

  it("detects a modified archive object and a modified D1 row", async () => {
    await insert("tamper-old", 60 * DAY, "demo");
    await insert("tamper-recent", 3 * DAY, "demo");
    await cronAhead();
    expect(await verifyArchive()).toMatchObject({ ok: true });

    // A D1 row inside the hot window (archived too) is edited.
    const recent = await env.DB.prepare("SELECT seq, principal FROM audit_events WHERE id = 'tamper-recent'").first<{ seq: number; principal: string }>();
    await env.DB.prepare("UPDATE audit_events SET principal = 'user:someone-else@example.com' WHERE id = 'tamper-recent'").run();
    expect(await verifyArchive()).toMatchObject({ ok: false, reason: "edited", seq: recent!.seq });
    await env.DB.prepare("UPDATE audit_events SET principal = ? WHERE id = 'tamper-recent'").bind(recent!.principal).run();
    expect(await verifyArchive()).toMatchObject({ ok: true });

    // An archived object is rewritten (same rows, one value changed, recompressed): its SHA-256 no longer matches.
    const objectKey = (await keys(OBJECT_PREFIX)).find((k) => k.endsWith(".jsonl.gz"))!;
    const original = new Uint8Array(await (await bucket.get(objectKey))!.arrayBuffer());
    const text = await gunzip(original);
    const forged = new Blob([text.replace("user:t@example.com", "user:x@example.com")]).stream().pipeThrough(new CompressionStream("gzip"));
    await bucket.put(objectKey, await new Response(forged).arrayBuffer());
    expect(await verifyArchive()).toMatchObject({ ok: false, reason: "archive_corrupt" });
    await bucket.put(objectKey, original);
    expect(await verifyArchive()).toMatchObject({ ok: true });
  });

  it("goes on with the chain after every sealed row has left D1", async () => {
    await insert("emptied", 70 * DAY, "demo");
    await cronAhead();
    expect(await purgeArchived(env.DB, Date.now() + 100 * DAY, 30)).toBeGreaterThanOrEqual(0);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE hash IS NOT NULL").first<{ n: number }>())!.n).toBe(0);
    await insert("after-empty", 65 * DAY, "demo");
    await cronAhead();
    expect(await verifyArchive()).toMatchObject({ ok: true });
  });

  it("never overwrites an archive key that holds other bytes (what a bucket lock would refuse anyway)", async () => {
    await insert("occupied", 80 * DAY, "demo");
    const now = Date.now() + 2 * HOUR;
    await sealAudit(env.DB, now);
    const row = await env.DB.prepare("SELECT seq FROM audit_events WHERE id = 'occupied'").first<{ seq: number }>();
    const key = `audit/demo/${new Date(Date.now() - 80 * DAY).toISOString().slice(0, 10)}/${String(row!.seq).padStart(15, "0")}-${String(row!.seq).padStart(15, "0")}.jsonl.gz`;
    await bucket.put(key, "someone else's bytes");
    const progress = await archiveProgress(env.DB);
    await expect(archiveAudit(env.DB, bucket, now)).rejects.toThrow("already holds different bytes");
    expect(await (await bucket.get(key))!.text()).toBe("someone else's bytes");
    expect(await archiveProgress(env.DB)).toEqual(progress);
    await bucket.delete(key);
    await archiveAudit(env.DB, bucket, now);
    expect((await archiveProgress(env.DB))!.seq).toBe(row!.seq);
  });

  it("without an archive bucket, purges nothing", async () => {
    await insert("no-bucket", 90 * DAY, "demo");
    const { AUDIT_ARCHIVE: _b, ...noArchive } = env;
    setDevClockOffset(2 * 3600);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), noArchive as typeof env, ctx);
    await waitOnExecutionContext(ctx);
    setDevClockOffset(0);
    expect(await idsInD1()).toContain("no-bucket");
    const direct = await verifyWithArchive(env.DB, { PUBLIC_ORIGIN: "" }, {}, 1000);
    expect(direct).toMatchObject({ ok: true });
  });
});
