import { describe, expect, it } from "vitest";
import { emailFromClaims, groupsFromClaim, identityFromClaims, OIDC_GROUP_LIMITS, upstreamScope } from "../../../src/oauth/oidc-identity";

const id = (claims: Record<string, unknown>) => ({ sub: "u1", ...claims });

describe("upstream email → principal", () => {
  it("takes a verified email, lowercased", () => {
    expect(emailFromClaims(id({ email: "Alice@Example.COM", email_verified: true }))).toEqual({ ok: true, email: "alice@example.com" });
  });

  it.each([
    ["no email anywhere", id({}), undefined, "email_missing"],
    ["an empty email", id({ email: "", email_verified: true }), undefined, "email_missing"],
    ["email_verified false", id({ email: "a@example.com", email_verified: false }), undefined, "email_not_verified"],
    ["email_verified missing", id({ email: "a@example.com" }), undefined, "email_not_verified"],
    ['email_verified as the string "true"', id({ email: "a@example.com", email_verified: "true" }), undefined, "email_not_verified"],
    ["email_verified 1", id({ email: "a@example.com", email_verified: 1 }), undefined, "email_not_verified"],
    ["a non-string email", id({ email: ["a@example.com"], email_verified: true }), undefined, "email_invalid"],
    ["no @", id({ email: "alice.example.com", email_verified: true }), undefined, "email_invalid"],
    ["two @", id({ email: "a@b@example.com", email_verified: true }), undefined, "email_invalid"],
    ["whitespace", id({ email: "alice @example.com", email_verified: true }), undefined, "email_invalid"],
    ["a control character", id({ email: "alice\u0000@example.com", email_verified: true }), undefined, "email_invalid"],
    ["a newline", id({ email: "alice@example.com\nx", email_verified: true }), undefined, "email_invalid"],
    ["over 254 characters", id({ email: `${"a".repeat(60)}@${"b".repeat(200)}.com`, email_verified: true }), undefined, "email_invalid"],
  ])("refuses %s", (_name, idToken, userinfo, reason) => {
    expect(emailFromClaims(idToken, userinfo)).toEqual({ ok: false, reason });
  });

  it("uses UserInfo when the ID token carries no email", () => {
    expect(emailFromClaims(id({}), { sub: "u1", email: "Bob@example.com", email_verified: true })).toEqual({ ok: true, email: "bob@example.com" });
    expect(emailFromClaims(id({}), { sub: "u1", email: "bob@example.com", email_verified: false })).toEqual({ ok: false, reason: "email_not_verified" });
  });

  it("never mixes an email from one source with email_verified from the other", () => {
    // The ID token's unverified email is not rescued by UserInfo's flag...
    expect(emailFromClaims(id({ email: "a@example.com" }), { sub: "u1", email: "a@example.com", email_verified: true })).toEqual({ ok: false, reason: "email_not_verified" });
    // ...and the ID token's flag does not verify UserInfo's email.
    expect(emailFromClaims(id({ email_verified: true }), { sub: "u1", email: "b@example.com" })).toEqual({ ok: false, reason: "email_not_verified" });
  });
});

describe("upstream groups claim → IdP groups", () => {
  it("keeps an array of strings, dropping duplicates, empties, non-strings, over-long and control-character names", () => {
    const long = "g".repeat(OIDC_GROUP_LIMITS.length + 1);
    expect(groupsFromClaim(["sales-ops", "sales-ops", "", 7, null, { a: 1 }, long, "bad\u0007name", "Data Engineering"])).toEqual({ groups: ["sales-ops", "Data Engineering"], dropped: 7 });
  });

  it.each([
    ["a string", "sales-ops"],
    ["an object", { groups: ["x"] }],
    ["null", null],
    ["missing", undefined],
    ["a number", 3],
  ])("treats %s as no groups", (_name, value) => {
    expect(groupsFromClaim(value)).toEqual({ groups: [], dropped: 0 });
  });

  it(`caps the list at ${OIDC_GROUP_LIMITS.count}, keeping the groups the policy knows first`, () => {
    const many = Array.from({ length: 50 }, (_, i) => `dir-group-${i}`);
    const known = new Set(["approvers", "sales-ops"]);
    const { groups, dropped } = groupsFromClaim([...many, "sales-ops", "approvers"], known);
    expect(groups).toHaveLength(OIDC_GROUP_LIMITS.count);
    expect(groups.slice(0, 2)).toEqual(["sales-ops", "approvers"]);
    expect(groups.slice(2)).toEqual(many.slice(0, OIDC_GROUP_LIMITS.count - 2));
    expect(dropped).toBe(52 - OIDC_GROUP_LIMITS.count);
  });

  it("does not trim or case-fold names: the policy matches them exactly", () => {
    expect(groupsFromClaim([" admins", "Admins"], new Set(["admins"])).groups).toEqual([" admins", "Admins"]);
  });
});

describe("identityFromClaims", () => {
  it("reads the configured groups claim, default `groups`, from the ID token or else UserInfo", () => {
    const claims = id({ email: "a@example.com", email_verified: true, groups: ["g1"], roles: ["r1"] });
    expect(identityFromClaims(claims, undefined)).toEqual({ ok: true, email: "a@example.com", groups: ["g1"], groupsDropped: 0 });
    expect(identityFromClaims(claims, undefined, { groupsClaim: "roles" })).toMatchObject({ groups: ["r1"] });
    expect(identityFromClaims(id({}), { sub: "u1", email: "a@example.com", email_verified: true, groups: ["u"] })).toMatchObject({ ok: true, groups: ["u"] });
    expect(identityFromClaims(id({ email: "a@example.com", email_verified: true }), { sub: "u1", groups: ["from-userinfo"] })).toMatchObject({ groups: ["from-userinfo"] });
  });

  it("does not read inherited properties as claims", () => {
    expect(identityFromClaims(id({ email: "a@example.com", email_verified: true }), undefined, { groupsClaim: "constructor" })).toMatchObject({ ok: true, groups: [] });
  });

  it("fails before looking at groups when the email is not verified", () => {
    expect(identityFromClaims(id({ email: "a@example.com", groups: ["admins"] }), undefined)).toEqual({ ok: false, reason: "email_not_verified" });
  });
});

describe("upstream scope", () => {
  it("asks for openid email profile, and groups when a groups claim is configured", () => {
    expect(upstreamScope(undefined)).toBe("openid email profile");
    expect(upstreamScope("")).toBe("openid email profile");
    expect(upstreamScope("groups")).toBe("openid email profile groups");
  });
});
