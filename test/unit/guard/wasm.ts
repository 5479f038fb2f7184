/// <reference path="../../../src/guard/libpg-query-glue.d.ts" />
// The guard's WASM parser in Node, instantiated from the same package files the Worker bundles, with the same
// initial-memory patch (scripts/parser-wasm.ts) applied in memory.
import factory from "libpg-query/wasm/libpg-query.js";
import { packageParserWasm, PARSER_INITIAL_MEMORY_BUDGET } from "../../../scripts/build-parser-wasm";
import { shrinkParserWasm } from "../../../scripts/parser-wasm";
import type { SqlParser } from "../../../src/guard/wasm-parser";
import { instantiatePgQuery } from "../../../src/guard/wasm-parser";

let parser: Promise<SqlParser> | undefined;

/** The package's .wasm with the Worker's smaller initial memory, compiled. */
export async function pgQueryWasm(): Promise<WebAssembly.Module> {
  return new WebAssembly.Module(shrinkParserWasm(packageParserWasm(), PARSER_INITIAL_MEMORY_BUDGET));
}

/** One parser shared by the unit suite's files (one instance per test worker). */
export function nodeSqlParser(): Promise<SqlParser> {
  parser ??= pgQueryWasm().then((wasm) => instantiatePgQuery(factory, wasm));
  return parser;
}
