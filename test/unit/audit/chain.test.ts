import { describe, expect, it } from "vitest";
import { GENESIS_HASH, rowHash, verifyChain, type AuditRow } from "../../../src/audit/chain";

async function chain(n: number): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const row: AuditRow = { seq: i, id: `id${i}`, time: `2026-11-25T00:00:0${i % 10}Z`, event: "tool.call", outcome: "ok", principal: `user:u${i}@e.com`, rows: i, prev_hash: null, hash: null };
    const hash = await rowHash(prev, row);
    rows.push({ ...row, prev_hash: prev, hash });
    prev = hash;
  }
  return rows;
}

describe("audit hash chain", () => {
  it("verifies an intact chain against its anchor", async () => {
    const rows = await chain(5);
    expect(await verifyChain(rows, { seq: 5, hash: rows[4]!.hash! })).toEqual({ ok: true, rows: 5, head: { seq: 5, hash: rows[4]!.hash } });
  });

  it("detects an edited row", async () => {
    const rows = await chain(5);
    rows[2] = { ...rows[2]!, outcome: "denied" };
    expect(await verifyChain(rows)).toMatchObject({ ok: false, seq: 3, reason: "edited" });
  });

  it("detects a deleted row in the middle", async () => {
    const rows = await chain(5);
    rows.splice(2, 1);
    expect(await verifyChain(rows)).toMatchObject({ ok: false, seq: 4, reason: "broken_link" });
  });

  it("detects reordered rows even when their seq values are swapped too", async () => {
    const rows = await chain(5);
    const a = rows[1]!;
    const b = rows[2]!;
    rows[1] = { ...b, seq: a.seq };
    rows[2] = { ...a, seq: b.seq };
    expect((await verifyChain(rows)).ok).toBe(false);
  });

  it("detects a deleted tail through the anchor", async () => {
    const rows = await chain(5);
    const anchor = { seq: 5, hash: rows[4]!.hash! };
    expect(await verifyChain(rows.slice(0, 4), anchor)).toMatchObject({ ok: false, reason: "head_mismatch" });
  });

  it("accepts a purged head (the first kept row's link is trusted) and unsealed rows after the sealed ones", async () => {
    const rows = await chain(5);
    const unsealed: AuditRow = { seq: 6, id: "id6", time: "x", event: "tool.call", outcome: "started", prev_hash: null, hash: null };
    expect(await verifyChain([...rows.slice(2), unsealed])).toMatchObject({ ok: true, rows: 3 });
  });

  // A migration that adds an audit_events column (0003: trace_id, 0007: db_login) leaves the rows sealed before it
  // reading NULL there; their hashes were computed without the column.
  it("verifies rows sealed before a column was added, which now read NULL in it, next to rows sealed after", async () => {
    const before = await chain(3);
    const upgraded = before.map((row) => ({ ...row, trace_id: null, db_login: null }));
    const after: AuditRow = { seq: 4, id: "id4", time: "t", event: "tool.call", outcome: "ok", trace_id: null, db_login: null, prev_hash: upgraded[2]!.hash, hash: null };
    const sealed = { ...after, hash: await rowHash(after.prev_hash!, after) };
    expect(await verifyChain([...upgraded, sealed], { seq: 4, hash: sealed.hash })).toMatchObject({ ok: true, rows: 4 });
  });

  it("verifies a row sealed between two such migrations (a trace id, no db_login column yet)", async () => {
    const row: AuditRow = { seq: 1, id: "id1", time: "t", event: "tool.call", outcome: "ok", trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", prev_hash: GENESIS_HASH, hash: null };
    const sealed = { ...row, hash: await rowHash(GENESIS_HASH, row) };
    expect(await verifyChain([{ ...sealed, db_login: null }])).toMatchObject({ ok: true, rows: 1 });
    expect(await verifyChain([{ ...sealed, db_login: "gh_0123456789abcdef" }])).toMatchObject({ ok: false, seq: 1, reason: "edited" });
  });

  it("detects a value written into a column added after the row was sealed", async () => {
    const rows: AuditRow[] = (await chain(3)).map((row) => ({ ...row, trace_id: null, db_login: null }));
    rows[1] = { ...rows[1]!, trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" };
    expect(await verifyChain(rows)).toMatchObject({ ok: false, seq: 2, reason: "edited" });
  });

  it("refuses a sealed row after an unsealed one", async () => {
    const rows = await chain(3);
    const unsealed: AuditRow = { seq: 2, id: "x", time: "x", event: "e", outcome: "started", prev_hash: null, hash: null };
    expect(await verifyChain([rows[0]!, unsealed, rows[2]!])).toMatchObject({ ok: false, reason: "unsealed_gap" });
  });
});
