import { describe, expect, it } from "vitest";
import { DEFAULT_SESSION_POLICY, refreshDecision, sessionState, type SessionTimes } from "../../../src/oauth/session-policy";

const T = 1_700_000_000;
const fresh: SessionTimes = { created_at: T, last_used_at: T, expires_at: T + 12 * 3600, revoked_at: null };

describe("session lifetimes (docs/security.md)", () => {
  it("has the documented defaults: 12 h absolute, 2 h idle, 30 s grace, codes 5 min (≤ 10), requests 15 min", () => {
    expect(DEFAULT_SESSION_POLICY).toEqual({ absoluteSeconds: 43200, idleSeconds: 7200, graceSeconds: 30, codeSeconds: 300, requestSeconds: 900 });
    expect(DEFAULT_SESSION_POLICY.codeSeconds).toBeLessThanOrEqual(600);
  });

  it.each<[string, SessionTimes, number, string]>([
    ["new", fresh, T, "active"],
    ["used 1 s before the idle limit", fresh, T + 7199, "active"],
    ["at the idle limit", fresh, T + 7200, "idle"],
    ["used recently, 1 s before the absolute limit", { ...fresh, last_used_at: T + 43000 }, T + 43199, "active"],
    ["at the absolute limit though used recently", { ...fresh, last_used_at: T + 43000 }, T + 43200, "expired"],
    ["past both limits: expiry wins over idleness", fresh, T + 50000, "expired"],
    ["revoked, even if otherwise active", { ...fresh, revoked_at: T + 1 }, T + 2, "revoked"],
    ["revoked and expired: revocation wins", { ...fresh, revoked_at: T + 1 }, T + 99999, "revoked"],
  ])("a session %s is %s", (_name, s, now, state) => {
    expect(sessionState(s, now)).toBe(state);
  });

  it("honours a custom policy", () => {
    expect(sessionState(fresh, T + 61, { ...DEFAULT_SESSION_POLICY, idleSeconds: 60 })).toBe("idle");
  });
});

describe("refresh decision (rotation, grace, reuse)", () => {
  it("rotates a token that was never rotated", () => {
    expect(refreshDecision({ rotated_at: null, grace_pair: null }, T)).toEqual({ kind: "rotate" });
  });

  it.each([
    ["at once", 0],
    ["after 30 s (the window's end)", 30],
  ])("answers a duplicate %s with the sealed pair", (_name, dt) => {
    expect(refreshDecision({ rotated_at: T, grace_pair: "sealed" }, T + dt)).toEqual({ kind: "grace", sealed: "sealed" });
  });

  it.each([
    ["31 s after rotation", { rotated_at: T, grace_pair: "sealed" }, T + 31],
    ["60 s after rotation", { rotated_at: T, grace_pair: "sealed" }, T + 60],
    ["within the window but without a sealed pair", { rotated_at: T, grace_pair: null }, T + 1],
  ])("calls reuse %s", (_name, row, now) => {
    expect(refreshDecision(row, now)).toEqual({ kind: "reuse" });
  });
});
