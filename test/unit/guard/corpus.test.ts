// The hostile-SQL corpus (test/support/sql-corpus.ts) through the guard's own parser adapter and checks, in Node.
// test/worker/guard.test.ts runs the same corpus inside workerd.
import { describe, expect, it } from "vitest";
import { checkSelect } from "../../../src/guard/rules";
import type { GuardResult } from "../../../src/guard/types";
import { DEMO_SQL_POLICY, SQL_CORPUS } from "../../support/sql-corpus";
import { nodeSqlParser } from "./wasm";

async function guard(sql: string): Promise<GuardResult> {
  const parsed = (await nodeSqlParser()).parse(sql);
  return parsed.ok ? checkSelect(parsed.tree, DEMO_SQL_POLICY) : { ok: false, rule: "parse_error", message: parsed.message };
}

describe("hostile-SQL corpus", () => {
  it("has at least 60 hostile cases and 15 legitimate analytic queries, each explained", () => {
    const hostile = SQL_CORPUS.filter((c) => c.category !== "legitimate");
    const legitimate = SQL_CORPUS.filter((c) => c.category === "legitimate" && c.expect === "allowed");
    expect(hostile.length).toBeGreaterThanOrEqual(60);
    expect(legitimate.length).toBeGreaterThanOrEqual(15);
    for (const c of SQL_CORPUS) {
      expect(c.why.length, c.name).toBeGreaterThan(0);
      expect(c.expect === "refused", c.name).toBe(c.rule !== undefined);
      expect(c.expect === "allowed_bounded", c.name).toBe(c.bound !== undefined);
    }
    expect(new Set(SQL_CORPUS.map((c) => c.name)).size).toBe(SQL_CORPUS.length);
  });

  it.each(SQL_CORPUS.map((c) => [`${c.category}: ${c.name}`, c] as const))("%s", async (_label, c) => {
    const result = await guard(c.sql);
    if (c.expect === "refused") {
      expect(result).toMatchObject({ ok: false, rule: c.rule });
      if (!result.ok && result.rule !== "parse_error") expect(result.message.startsWith(`${c.rule}: `)).toBe(true);
    } else {
      expect(result.ok, result.ok ? "" : result.message).toBe(true);
      if (result.ok) for (const relation of result.relations) expect(DEMO_SQL_POLICY.allowedRelations).toContain(relation);
    }
  });
});
