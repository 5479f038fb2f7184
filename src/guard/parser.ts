/// <reference path="./libpg-query-glue.d.ts" />
// The parser as the Worker loads it (docs/architecture.md): libpg-query's emscripten
// factory, given the .wasm that wrangler bundles as a WebAssembly.Module (its default rule for `*.wasm`
// imports), instantiated once per isolate on first use.
// The .wasm is libpg-query's with its initial memory cut from 128 MiB to the ~33 MiB its static data and stack
// need, since WebAssembly memory counts toward the isolate's memory limit. It is generated from node_modules by
// scripts/build-parser-wasm.ts (wrangler's custom build, and vitest.config.ts) and not committed.
import pgQueryFactory from "libpg-query/wasm/libpg-query.js";
import pgQueryWasm from "./parser.generated.wasm";
import type { SqlParseResult } from "./types";
import type { SqlParser } from "./wasm-parser";
import { instantiatePgQuery } from "./wasm-parser";

let loading: Promise<SqlParser> | undefined;

/**
 * Parses one SQL text with the PostgreSQL 18 grammar: the JSON parse tree, or PostgreSQL's syntax error.
 * Input that makes the WASM module itself fail (a trap, stack exhaustion) is reported as a parse error and the
 * instance is dropped, so the next call starts a fresh one and one bad input cannot break the isolate's parser.
 * Rejects only when the parser cannot be loaded (the next call tries again).
 */
export async function parseSql(sql: string): Promise<SqlParseResult> {
  const parser = await loadParser();
  try {
    return parser.parse(sql);
  } catch {
    loading = undefined;
    return { ok: false, message: "the SQL parser could not process this statement", position: 0 };
  }
}

/** Bytes of WebAssembly memory the isolate's parser holds now; 0 before its first use. */
export async function parserMemoryBytes(): Promise<number> {
  if (!loading) return 0;
  return (await loading.catch(() => undefined))?.memoryBytes() ?? 0;
}

function loadParser(): Promise<SqlParser> {
  loading ??= instantiateWithShims().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

// The glue decides where it runs when the factory is called, synchronously, before its first await. With
// nodejs_compat, workerd has `process.versions.node`, so the glue takes its Node path and reads `__dirname`;
// where `WorkerGlobalScope` exists it reads `self.location.href` instead. Neither exists in workerd, and both
// only seed the directory the glue would load the .wasm from, which `instantiateWasm` makes unused. They are
// defined for the duration of that call and removed again.
function instantiateWithShims(): Promise<SqlParser> {
  const globals = globalThis as { __dirname?: string; location?: { href: string } };
  const added: Array<"__dirname" | "location"> = [];
  if (globals.__dirname === undefined) {
    globals.__dirname = "/";
    added.push("__dirname");
  }
  if (globals.location === undefined) {
    globals.location = { href: "https://gatehouse.invalid/" };
    added.push("location");
  }
  try {
    return instantiatePgQuery(pgQueryFactory, pgQueryWasm);
  } finally {
    for (const name of added) delete globals[name];
  }
}
