import { describe, expect, it } from "vitest";
import { buildAccessClaims, checkAccessClaims } from "../../../src/oauth/claims";

const subject = { sub: "user:alice@example.com", kind: "user" as const, email: "alice@example.com", workspace: "demo", clientId: "c1", sessionId: "s1", scope: "db:read" };
const ctx = { issuer: "https://gw.example", resource: "https://gw.example/mcp", now: 1_800_000_000, jti: "j1" };

describe("access-token claims", () => {
  it("builds RFC 9068 claims with the tier's lifetime", () => {
    const c = buildAccessClaims(subject, ctx);
    expect(c).toMatchObject({
      iss: "https://gw.example",
      aud: "https://gw.example/mcp",
      sub: "user:alice@example.com",
      iat: 1_800_000_000,
      exp: 1_800_000_900,
      jti: "j1",
      client_id: "c1",
      scope: "db:read",
      sid: "s1",
      ws: "demo",
      pk: "user",
    });
  });
  it("caps a requested TTL at the scope's tier", () => {
    expect(buildAccessClaims({ ...subject, scope: "db:read db:write" }, ctx, 900).exp - ctx.now).toBe(300);
    expect(buildAccessClaims(subject, ctx, 60).exp - ctx.now).toBe(60);
  });
  it("refuses to mint a token with no tier in scope", () => {
    expect(() => buildAccessClaims({ ...subject, scope: "" }, ctx)).toThrow(/scope/);
  });
  it("rejects a lifetime longer than the scope allows", () => {
    const c = { ...buildAccessClaims(subject, ctx), exp: ctx.now + 901 };
    expect(checkAccessClaims(c as unknown as Record<string, unknown>)).toEqual({ ok: false, reason: "lifetime_over_tier_ttl" });
  });
  it("rejects missing or mistyped claims", () => {
    const c = buildAccessClaims(subject, ctx) as unknown as Record<string, unknown>;
    expect(checkAccessClaims({ ...c, sid: undefined })).toMatchObject({ ok: false });
    expect(checkAccessClaims({ ...c, pk: "admin" })).toEqual({ ok: false, reason: "bad_principal_kind" });
    expect(checkAccessClaims({ ...c, groups: [1] })).toEqual({ ok: false, reason: "bad_groups" });
    expect(checkAccessClaims(c)).toMatchObject({ ok: true });
  });
});
