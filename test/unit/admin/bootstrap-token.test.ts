import { describe, expect, it } from "vitest";
import { bearerValue, checkBootstrapToken, MIN_BOOTSTRAP_TOKEN_LENGTH } from "../../../src/admin/bootstrap-token";

const SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef";

describe("checkBootstrapToken", () => {
  it("accepts exactly the configured secret", async () => {
    expect(await checkBootstrapToken(SECRET, SECRET)).toBe("ok");
  });

  it("refuses anything else: a prefix, an extension, one changed character, the empty string, none", async () => {
    for (const presented of [SECRET.slice(0, -1), `${SECRET}0`, `1${SECRET.slice(1)}`, "", undefined]) {
      expect(await checkBootstrapToken(SECRET, presented)).toBe("mismatch");
    }
  });

  it("is disabled when the secret is unset or shorter than the minimum, whatever is presented", async () => {
    const short = "x".repeat(MIN_BOOTSTRAP_TOKEN_LENGTH - 1);
    expect(await checkBootstrapToken(undefined, SECRET)).toBe("not_configured");
    expect(await checkBootstrapToken(short, short)).toBe("not_configured");
    expect(await checkBootstrapToken("", "")).toBe("not_configured");
  });
});

describe("bearerValue", () => {
  it("reads an RFC 6750 bearer credential and nothing else", () => {
    expect(bearerValue(`Bearer ${SECRET}`)).toBe(SECRET);
    expect(bearerValue(undefined)).toBeUndefined();
    expect(bearerValue("Bearer ")).toBeUndefined();
    expect(bearerValue(`Basic ${SECRET}`)).toBeUndefined();
    expect(bearerValue(`Bearer ${SECRET} extra`)).toBeUndefined();
  });
});
