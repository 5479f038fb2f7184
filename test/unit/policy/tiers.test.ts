import { describe, expect, it } from "vitest";
import { scopeForTiers, tiersInScope, ttlForScope } from "../../../src/policy/tiers";

describe("tiers and token lifetimes", () => {
  it("gives a token the TTL of the most privileged tier in its scope", () => {
    expect(ttlForScope("db:read")).toBe(900);
    expect(ttlForScope("db:read db:sql")).toBe(600);
    expect(ttlForScope("db:sql db:write db:read")).toBe(300);
  });
  it("treats a scope without a known tier as worthless", () => {
    expect(ttlForScope("")).toBe(0);
    expect(ttlForScope("openid profile")).toBe(0);
  });
  it("never exceeds 900 s even when configured higher", () => {
    expect(ttlForScope("db:read", { read: 3600, sql: 600, write: 300 })).toBe(900);
  });
  it("round-trips scope strings in tier order", () => {
    expect(scopeForTiers(["write", "read"])).toBe("db:read db:write");
    expect(tiersInScope("db:write x db:read")).toEqual(["read", "write"]);
  });
});
