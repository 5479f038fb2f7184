import { describe, expect, it } from "vitest";
import { CONSOLE_IDLE_SECONDS, consoleRoles, consoleSessionState, safeReturnPath, timeLeft } from "../../../src/console/session";
import { showValue, sqlSegments } from "../../../src/console/sql-view";

describe("console session state", () => {
  const now = 1_800_000_000;
  it("is active until the idle timeout or the absolute lifetime, and never once revoked", () => {
    expect(consoleSessionState({ last_seen_at: now - 10, expires_at: now + 10, revoked: 0 }, now)).toBe("active");
    expect(consoleSessionState({ last_seen_at: now - CONSOLE_IDLE_SECONDS, expires_at: now + 10, revoked: 0 }, now)).toBe("idle");
    expect(consoleSessionState({ last_seen_at: now, expires_at: now, revoked: 0 }, now)).toBe("expired");
    expect(consoleSessionState({ last_seen_at: now, expires_at: now + 10, revoked: 1 }, now)).toBe("revoked");
  });

  it("derives roles from the granted scope only", () => {
    expect(consoleRoles("gatehouse:approve")).toEqual({ admin: false, approver: true });
    expect(consoleRoles("gatehouse:admin gatehouse:approve")).toEqual({ admin: true, approver: true });
    expect(consoleRoles("db:read")).toEqual({ admin: false, approver: false });
  });
});

describe("return path after sign-in", () => {
  it.each([
    ["/console/approvals/abc123", "/console/approvals/abc123"],
    ["/console", "/console"],
    ["/console/audit?outcome=denied&limit=50", "/console/audit?outcome=denied&limit=50"],
    ["https://evil.example/console", "/console"],
    ["//evil.example/console", "/console"],
    ["/console//evil.example", "/console"],
    ["/console\\evil", "/console"],
    ["/consolex", "/console"],
    ["/authorize", "/console"],
    [null, "/console"],
    [`/console/${"a".repeat(300)}`, "/console"],
  ])("%s → %s", (raw, expected) => {
    expect(safeReturnPath(raw)).toBe(expected);
  });
});

describe("statement view", () => {
  it("puts each bound value beside its placeholder, by the tool's bind order", () => {
    const segs = sqlSegments("UPDATE t SET stage = $2 WHERE id = $1 AND owner = $3", ["id", "stage", "owner"], { id: 7, stage: "won", owner: "o'neil@example.com" });
    expect(segs.filter((s) => "placeholder" in s).map((s) => "placeholder" in s && [s.placeholder, s.name, showValue(s.value)])).toEqual([
      ["$2", "stage", "'won'"],
      ["$1", "id", "7"],
      ["$3", "owner", "'o''neil@example.com'"],
    ]);
    expect(segs.map((s) => ("text" in s ? s.text : s.placeholder)).join("")).toBe("UPDATE t SET stage = $2 WHERE id = $1 AND owner = $3");
  });

  it("claims no mapping when the tool changed since the request", () => {
    const segs = sqlSegments("SELECT $1", null, { id: 7 });
    expect(segs[1]).toEqual({ placeholder: "$1", name: null, value: undefined, bound: false });
  });

  it("shows time left in minutes or seconds", () => {
    expect(timeLeft(1000, 1000)).toBe("expired");
    expect(timeLeft(1045, 1000)).toBe("45 s");
    expect(timeLeft(1000 + 29 * 60 + 5, 1000)).toBe("29 min");
  });
});

describe("audit explorer filters and chart buckets", () => {
  it("reads filters, normalises times and refuses an unknown outcome", async () => {
    const { readFilters, whereOf, chartWindow, buckets, CHART_BUCKETS } = await import("../../../src/console/audit-view");
    const r = readFilters(new URLSearchParams("principal=user:wes@example.com&outcome=denied&from=2026-11-29T20:15&tool=&before=40"));
    expect(r).toEqual({ ok: true, filters: { principal: "user:wes@example.com", outcome: "denied", from: "2026-11-29T20:15:00.000Z" }, before: 40 });
    expect(readFilters(new URLSearchParams("outcome=fine")).ok).toBe(false);
    expect(readFilters(new URLSearchParams("from=yesterday")).ok).toBe(false);
    if (!r.ok) return;
    expect(whereOf(r.filters, { kind: "workspace", workspace: "demo" })).toEqual({
      where: "principal = ? AND outcome = ? AND time >= ? AND workspace = ?",
      params: ["user:wes@example.com", "denied", "2026-11-29T20:15:00.000Z", "demo"],
    });
    expect(whereOf({}, { kind: "deployment" }, { eventDefault: "tool.call" })).toEqual({ where: "event = ?", params: ["tool.call"] });
    const w = chartWindow({}, Date.parse("2026-11-29T12:00:00Z"));
    expect(w).toEqual({ fromMs: Date.parse("2026-11-28T12:00:00Z"), toMs: Date.parse("2026-11-29T12:00:00Z"), bucketMs: 3600_000 });
    const b = buckets(
      [
        { b: 0, outcome: "ok", n: 2 },
        { b: 23, outcome: "denied", n: 1 },
        { b: 23, outcome: "ok", n: 3 },
        { b: 99, outcome: "ok", n: 5 },
      ],
      w,
    );
    expect(b).toHaveLength(CHART_BUCKETS);
    expect(b[0]!.counts).toEqual({ ok: 2 });
    expect(b[23]!.counts).toEqual({ denied: 1, ok: 3 });
  });
});
