import { describe, expect, it } from "vitest";
import { auditComment, readStatement } from "../../../src/tools/statement";
import type { ToolDefinition } from "../../../src/policy/types";

const tool = { name: "my_tool", sql: "SELECT * FROM reporting.x WHERE a = $1 -- trailing comment\n;", limits: { maxRows: 50 } } as ToolDefinition;

describe("readStatement", () => {
  it("wraps the tool SQL with the audit comment and a bound LIMIT max_rows + 1", () => {
    const s = readStatement(tool, ["v"], "abc");
    expect(s.text.startsWith("/* gatehouse audit=abc tool=my_tool */\nSELECT * FROM (\n")).toBe(true);
    expect(s.text).toContain("-- trailing comment\n) AS gatehouse_result LIMIT $2");
    expect(s.params).toEqual(["v", 51]);
  });
  it("cannot be made to close its comment early", () => {
    expect(auditComment("x*/ DROP", "t*/")).toBe("/* gatehouse audit=x___DROP tool=t__ */");
  });
});
