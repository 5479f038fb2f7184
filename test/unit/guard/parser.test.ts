/// <reference path="../../../src/guard/libpg-query-glue.d.ts" />
import type { PgQueryRuntime } from "libpg-query/wasm/libpg-query.js";
import factory from "libpg-query/wasm/libpg-query.js";
import { describe, expect, it } from "vitest";
import { instantiatePgQuery } from "../../../src/guard/wasm-parser";
import { nodeSqlParser, pgQueryWasm } from "./wasm";

describe("WASM parser adapter", () => {
  it("returns libpg-query's JSON tree for PostgreSQL 18", async () => {
    const result = (await nodeSqlParser()).parse("SELECT 1 AS one");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.tree.version).toBeGreaterThanOrEqual(180000);
    expect(result.tree.version).toBeLessThan(190000);
    expect(result.tree.stmts).toHaveLength(1);
    expect(Object.keys(result.tree.stmts?.[0]?.stmt ?? {})).toEqual(["SelectStmt"]);
  });

  it("returns PostgreSQL's message and 1-based character position for a syntax error", async () => {
    // 'é' and '€' are 2 and 3 bytes in UTF-8; PostgreSQL positions count characters.
    const result = (await nodeSqlParser()).parse("SELECT 'é€' FROM WHERE");
    expect(result).toEqual({ ok: false, message: 'syntax error at or near "WHERE"', position: 18 });
  });

  it("reports errors with no position as 0", async () => {
    const result = (await nodeSqlParser()).parse("SELECT 1 /* never closed");
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("unterminated /* comment") });
  });

  it("refuses a NUL character instead of parsing only what precedes it", async () => {
    const result = (await nodeSqlParser()).parse("SELECT 1\u0000; DELETE FROM sales.invoices");
    expect(result).toEqual({ ok: false, message: "the statement contains a NUL character", position: 9 });
  });

  it("refuses an unpaired surrogate but accepts a paired one", async () => {
    const parser = await nodeSqlParser();
    expect(parser.parse("SELECT 'a\ud800b'")).toEqual({ ok: false, message: "the statement contains an unpaired UTF-16 surrogate", position: 10 });
    const emoji = parser.parse("SELECT '\u{1f600}' AS smile");
    expect(emoji.ok).toBe(true);
    expect(JSON.stringify(emoji)).toContain("\u{1f600}");
  });

  it("frees what it allocates: thousands of parses leave the allocator where it was", async () => {
    let runtime: PgQueryRuntime | undefined;
    const parser = await instantiatePgQuery(async (options) => (runtime = await factory(options)), await pgQueryWasm());
    // The module's memory is allocated up front, so a leak shows as the allocator's next free address moving up.
    const nextFree = () => {
      const pointer = runtime?._malloc(16) ?? 0;
      runtime?._free(pointer);
      return pointer;
    };
    const sql = `SELECT ${Array.from({ length: 200 }, (_, i) => `'${"x".repeat(50)}' AS c${i}`).join(", ")}`;
    for (let i = 0; i < 50; i++) parser.parse(sql);
    const before = nextFree();
    for (let i = 0; i < 2000; i++) parser.parse(sql);
    // Leaking the ~13 KB statement, or its parse tree, on every call would move it by more than 25 MB.
    expect(before).toBeGreaterThan(0);
    expect(nextFree() - before).toBeLessThan(1024 * 1024);
  });

  it("rejects, rather than hanging, when the module cannot be instantiated", async () => {
    // A valid module importing env.zzz, which the glue does not provide: WebAssembly.instantiate rejects, and the
    // glue, which only ever waits for its `receive` callback, would wait forever if the rejection were not relayed.
    const bogus = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 11, 1, 3, 101, 110, 118, 3, 122, 122, 122, 0, 0]));
    await expect(instantiatePgQuery(factory, bogus)).rejects.toThrow(/WebAssembly\.instantiate/);
  });
});
