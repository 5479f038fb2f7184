// The execute_sql guard inside workerd: the WASM parser loads from the bundled .wasm module, behaves exactly as in
// the Node unit suite on the whole corpus, and its cost per call is measured (printed, not asserted).
import { describe, expect, it } from "vitest";
import { guardSql, parseSql } from "../../src/guard/index";
import { parserMemoryBytes } from "../../src/guard/parser";
import { DEMO_SQL_POLICY, SQL_CORPUS } from "../support/sql-corpus";

describe("execute_sql guard in workerd", () => {
  it("loads the parser and leaves no emscripten shims behind", async () => {
    const started = await tick();
    const parsed = await parseSql("SELECT 1");
    console.log(`first parseSql in this isolate (instantiates the WASM module): ${(await tick()) - started} ms`);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.tree.version).toBeGreaterThanOrEqual(180000);
    const globals = globalThis as { __dirname?: unknown; location?: unknown };
    expect(globals.__dirname).toBeUndefined();
    expect(globals.location).toBeUndefined();
  });

  it("reports PostgreSQL's syntax error with its position", async () => {
    const parsed = await parseSql("SELECT * FROM");
    expect(parsed).toEqual({ ok: false, message: "syntax error at end of input", position: 14 });
  });

  it.each(SQL_CORPUS.map((c) => [c.name, c] as const))("decides %s as in Node", async (_name, c) => {
    const result = await guardSql(c.sql, DEMO_SQL_POLICY);
    if (c.expect === "refused") expect(result).toMatchObject({ ok: false, rule: c.rule });
    else expect(result).toMatchObject({ ok: true });
  });

  // Cloudflare counts WebAssembly memory toward the isolate's 128 MB; libpg-query's module asks for 128 MiB at start.
  // The bundled module is patched to start at what its data and stack need (scripts/parser-wasm.ts) and grow.
  it("holds at most 40 MiB of WASM memory after the whole corpus, and grows for a large statement", async () => {
    for (const c of SQL_CORPUS) await guardSql(c.sql, DEMO_SQL_POLICY);
    const afterCorpus = await parserMemoryBytes();
    console.log(`parser WASM memory after the corpus: ${(afterCorpus / MiB).toFixed(1)} MiB`);
    expect(afterCorpus).toBeGreaterThan(0);
    expect(afterCorpus).toBeLessThanOrEqual(40 * MiB);
    // execute_sql takes at most 20,000 characters (its input schema, src/policy/compile.ts).
    let longest = "SELECT 0";
    for (let i = 0; longest.length < 19_950; i++) longest += `,(amount+${i})*2`;
    expect(await guardSql(`${longest} FROM sales.opportunities`, DEMO_SQL_POLICY)).toMatchObject({ ok: true });
    expect(await parserMemoryBytes()).toBeLessThanOrEqual(40 * MiB);

    const wide = `SELECT ${Array.from({ length: 20_000 }, (_, i) => `amount * ${i} AS c${i}`).join(", ")} FROM sales.opportunities`;
    expect(await guardSql(wide, DEMO_SQL_POLICY)).toEqual({ ok: true, relations: ["sales.opportunities"] });
    const afterWide = await parserMemoryBytes();
    // Memory grows on demand and is never returned: an isolate that parsed this keeps the larger size.
    console.log(`parser WASM memory after a ${wide.length}-character statement: ${(afterWide / MiB).toFixed(1)} MiB`);
    expect(afterWide).toBeGreaterThan(afterCorpus);
    expect(await guardSql("SELECT count(*) FROM sales.accounts", DEMO_SQL_POLICY)).toEqual({ ok: true, relations: ["sales.accounts"] });
  });

  it("keeps working after an input that exhausts the parser", async () => {
    const deep = `SELECT ${"(".repeat(50_000)}1${")".repeat(50_000)}`;
    expect(await guardSql(deep, DEMO_SQL_POLICY)).toMatchObject({ ok: false, rule: "parse_error" });
    expect(await guardSql("SELECT count(*) FROM sales.accounts", DEMO_SQL_POLICY)).toEqual({ ok: true, relations: ["sales.accounts"] });
  });

  it("measures parse + check per call", async () => {
    const samples = {
      small: "SELECT region, quarter, invoiced FROM reporting.revenue_summary WHERE region = 'EMEA' ORDER BY quarter",
      analytic: SQL_CORPUS.find((c) => c.name === "nested ctes")?.sql ?? "",
      refused: "SELECT * FROM secrets.api_tokens",
    };
    const iterations = 1000;
    // Warm V8 up on every path first: thousands of calls, not hundreds (docs/benchmark.md).
    for (let i = 0; i < 3000; i++) for (const sql of Object.values(samples)) await guardSql(sql, DEMO_SQL_POLICY);
    for (const [label, sql] of Object.entries(samples)) {
      // workerd advances its clock only across I/O, so performance.now() alone would read 0 here; Date.now()
      // around a Promise boundary with a timer tick gives the elapsed wall time of the whole batch.
      const started = await tick();
      for (let i = 0; i < iterations; i++) await guardSql(sql, DEMO_SQL_POLICY);
      const elapsed = (await tick()) - started;
      console.log(`guardSql ${label} (${sql.length} chars): ${((elapsed * 1000) / iterations).toFixed(1)} µs per call over ${iterations} calls`);
    }
  });
});

const MiB = 1024 * 1024;

async function tick(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  return Date.now();
}
