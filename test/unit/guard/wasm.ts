/// <reference path="../../../src/guard/libpg-query-glue.d.ts" />
// The guard's WASM parser in Node, instantiated from the same package files the Worker bundles.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import factory from "libpg-query/wasm/libpg-query.js";
import type { SqlParser } from "../../../src/guard/wasm-parser";
import { instantiatePgQuery } from "../../../src/guard/wasm-parser";

let parser: Promise<SqlParser> | undefined;

/** The package's .wasm, compiled. */
export async function pgQueryWasm(): Promise<WebAssembly.Module> {
  const path = createRequire(import.meta.url).resolve("libpg-query/wasm/libpg-query.wasm");
  return new WebAssembly.Module(await readFile(path));
}

/** One parser shared by the unit suite's files (one instance per test worker). */
export function nodeSqlParser(): Promise<SqlParser> {
  parser ??= pgQueryWasm().then((wasm) => instantiatePgQuery(factory, wasm));
  return parser;
}
