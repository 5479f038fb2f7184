import { describe, expect, it } from "vitest";
import { archivable, archiveCutoff, indexKey, objectKey, partition, fromJsonl, mergeBySeq, toJsonl } from "../../../src/audit/archive";
import { anchorKey } from "../../../src/audit/anchor";
import type { AuditRow } from "../../../src/audit/chain";

const row = (seq: number, time: string, workspace: string | null, sealed = true): AuditRow => ({ seq, time, workspace, event: "e", prev_hash: sealed ? "p" : null, hash: sealed ? `h${seq}` : null });

describe("archive layout", () => {
  it("archives only a consecutive prefix of sealed rows from finished hours", () => {
    const cutoff = archiveCutoff(Date.parse("2026-11-29T10:42:00Z"));
    expect(cutoff).toBe("2026-11-29T10:00:00.000Z");
    const rows = [row(1, "2026-11-29T09:00:00Z", "a"), row(2, "2026-11-29T09:59:59Z", null), row(3, "2026-11-29T10:01:00Z", "a"), row(4, "2026-11-29T09:30:00Z", "a")];
    expect(archivable(rows, cutoff).map((r) => r.seq)).toEqual([1, 2]);
    expect(archivable([row(1, "2026-11-28T00:00:00Z", "a", false), row(2, "2026-11-28T00:00:00Z", "a")], cutoff)).toEqual([]);
  });

  it("partitions by workspace and UTC day, and merges back into chain order", () => {
    const rows = [row(1, "2026-11-28T23:59:59Z", "a"), row(2, "2026-11-29T00:00:00Z", "a"), row(3, "2026-11-28T23:59:59Z", null), row(4, "2026-11-28T12:00:00Z", "a")];
    const parts = partition(rows);
    expect(parts.map((p) => [p.workspace, p.day, p.rows.map((r) => r.seq)])).toEqual([
      ["_none", "2026-11-28", [3]],
      ["a", "2026-11-28", [1, 4]],
      ["a", "2026-11-29", [2]],
    ]);
    expect(mergeBySeq(parts.map((p) => fromJsonl(p.jsonl))).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    // Deterministic bytes: the same rows give the same JSONL whatever the column order.
    expect(toJsonl([{ hash: "h", seq: 1, prev_hash: "p" }])).toBe(toJsonl([{ seq: 1, prev_hash: "p", hash: "h" }]));
  });

  it("names keys so that R2's ascending listing is chain order, and newest-first for anchors", () => {
    expect(indexKey(9, 10) < indexKey(10, 12)).toBe(true);
    expect(objectKey("demo", "2026-11-29", 1, 20)).toBe("audit/demo/2026-11-29/000000000000001-000000000000020.jsonl.gz");
    expect(anchorKey(100) < anchorKey(99)).toBe(true);
  });
});
