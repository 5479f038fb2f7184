import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isS256Challenge, s256, verifyS256 } from "../../../src/oauth/pkce";

const nodeS256 = (v: string) => createHash("sha256").update(v).digest("base64url");

describe("PKCE S256 (RFC 7636)", () => {
  it("computes the RFC 7636 appendix B example", async () => {
    expect(await s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("agrees with Node's SHA-256 + base64url for many verifiers", async () => {
    for (let len = 43; len <= 128; len += 17) {
      const v = "aZ09-._~".repeat(16).slice(0, len);
      expect(await s256(v)).toBe(nodeS256(v));
    }
  });

  it("verifies the matching verifier", async () => {
    const v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    expect(await verifyS256(v, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")).toBe(true);
  });

  const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  it.each([
    ["another valid verifier", "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"],
    ["the challenge itself (plain method)", challenge],
    ["a 42-character verifier", "a".repeat(42)],
    ["a 129-character verifier", "a".repeat(129)],
    ["a verifier with a forbidden character", `${"a".repeat(42)}+`],
    ["a verifier with a space", `${"a".repeat(42)} `],
    ["a verifier with a non-ASCII letter", `${"a".repeat(42)}é`],
    ["the empty string", ""],
  ])("refuses %s", async (_name, verifier) => {
    expect(await verifyS256(verifier, challenge)).toBe(false);
  });

  it("refuses when the stored challenge is malformed, even if it would match by prefix", async () => {
    const v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    expect(await verifyS256(v, `${challenge}=`)).toBe(false);
    expect(await verifyS256(v, challenge.slice(0, 42))).toBe(false);
    expect(await verifyS256(v, "")).toBe(false);
  });

  it.each([
    [challenge, true],
    ["A".repeat(43), true],
    ["A".repeat(42), false],
    ["A".repeat(44), false],
    [`${"A".repeat(42)}=`, false],
    [`${"A".repeat(42)}+`, false],
    [`${"A".repeat(42)}/`, false],
    ["", false],
  ])("isS256Challenge(%j) is %s", (c, ok) => {
    expect(isS256Challenge(c)).toBe(ok);
  });
});
