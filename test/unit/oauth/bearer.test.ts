import { describe, expect, it } from "vitest";
import { extractBearer } from "../../../src/oauth/bearer";

const url = new URL("https://gw.example/mcp");

describe("extractBearer (RFC 6750 §2.1)", () => {
  it("takes the token from an Authorization: Bearer header", () => {
    expect(extractBearer("Bearer abc.def-ghi_jkl", url)).toEqual({ ok: true, token: "abc.def-ghi_jkl" });
  });
  it("reports a missing header without an error code", () => {
    expect(extractBearer(undefined, url)).toEqual({ ok: false, failure: { kind: "missing" } });
  });
  it("refuses a token in the query string even with a valid header", () => {
    expect(extractBearer("Bearer abc", new URL("https://gw.example/mcp?access_token=abc"))).toEqual({ ok: false, failure: { kind: "in_query" } });
  });
  it.each(["Basic abc", "Bearer", "Bearer  abc", "bearer abc x", "Bearer abc\u0000"])("refuses the malformed header %j", (h) => {
    expect(extractBearer(h, url).ok).toBe(false);
  });
  it("refuses an oversized header before parsing", () => {
    expect(extractBearer(`Bearer ${"a".repeat(5000)}`, url)).toEqual({ ok: false, failure: { kind: "oversized" } });
  });
});
