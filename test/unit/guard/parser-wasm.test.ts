// The initial-memory patch of the guard's parser module (scripts/parser-wasm.ts) on the installed libpg-query.
// The rest of the unit suite parses with the patched module (./wasm.ts), the corpus and nesting limits included.
import { describe, expect, it } from "vitest";
import { packageParserWasm, PARSER_INITIAL_MEMORY_BUDGET } from "../../../scripts/build-parser-wasm";
import { readParserWasmLayout, shrinkParserWasm, WASM_PAGE } from "../../../scripts/parser-wasm";
import { nodeSqlParser } from "./wasm";

describe("parser WASM initial memory", () => {
  const original = packageParserWasm();

  it("reads libpg-query 18.1.5's layout: 128 MiB initial, static data and a 32 MiB stack ending at 34,515,008", () => {
    const layout = readParserWasmLayout(original);
    expect(layout).toMatchObject({ memoryMinPages: 2048, memoryMaxPages: 16384, stackTop: 34_515_008 });
    expect(layout.dataEnd).toBeLessThan(layout.stackTop - 32 * 1024 * 1024);
  });

  it("starts at the stack's top plus one page (33 MiB), keeps the maximum, and changes nothing else", () => {
    const patched = shrinkParserWasm(original, PARSER_INITIAL_MEMORY_BUDGET);
    const layout = readParserWasmLayout(patched);
    expect(layout.memoryMinPages).toBe(528);
    expect(layout.memoryMinPages * WASM_PAGE).toBeLessThanOrEqual(PARSER_INITIAL_MEMORY_BUDGET);
    expect(layout.memoryMaxPages).toBe(16384);
    expect(patched.length).toBe(original.length);
    const changed: number[] = [];
    for (let i = 0; i < patched.length; i++) if (patched[i] !== original[i]) changed.push(i);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((i) => i >= layout.minimumAt.offset && i < layout.minimumAt.offset + layout.minimumAt.length)).toBe(true);
    expect(Buffer.compare(shrinkParserWasm(patched, PARSER_INITIAL_MEMORY_BUDGET), patched)).toBe(0);
  });

  it("refuses layouts it does not understand and budgets it cannot meet", () => {
    expect(() => shrinkParserWasm(original, 32 * 1024 * 1024)).toThrow(/over the .*budget/);
    expect(() => readParserWasmLayout(new Uint8Array([1, 2, 3]))).toThrow(/not a WebAssembly 1.0 module/);
    // A module that imports its memory (env.memory, 1 page) instead of defining it.
    const importsMemory = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 2, 15, 1, 3, 101, 110, 118, 6, 109, 101, 109, 111, 114, 121, 2, 0, 1]);
    expect(() => readParserWasmLayout(importsMemory)).toThrow(/imports its memory/);
  });

  it("parses with the patched module, deep nesting included", async () => {
    const parser = await nodeSqlParser();
    expect(parser.memoryBytes()).toBeLessThanOrEqual(PARSER_INITIAL_MEMORY_BUDGET);
    expect(parser.parse(`SELECT ${"(".repeat(1000)}1${")".repeat(1000)}`).ok).toBe(true);
    expect(parser.parse(`SELECT ${"(".repeat(20000)}1${")".repeat(20000)}`).ok).toBe(false);
    expect(parser.parse("SELECT 1").ok).toBe(true);
  });
});
