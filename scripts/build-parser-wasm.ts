// Writes src/guard/parser.generated.wasm: libpg-query's .wasm from node_modules with its initial memory cut to what
// it needs (scripts/parser-wasm.ts). A build artefact, not committed (.gitignore): it is derived from the installed
// package on every path that bundles or loads the Worker, so it cannot drift from the lockfile:
// - `wrangler dev` and `wrangler deploy` run it as the custom build (wrangler.toml [build]);
// - every vitest run calls buildParserWasm() from vitest.config.ts (the workerd pool does not run custom builds).
// It rewrites the file only when the bytes differ, so concurrent runs and wrangler's watcher see no churn.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { shrinkParserWasm } from "./parser-wasm";

/** The initial memory the guard's parser may start with (issue 16: at most 40 MiB). */
export const PARSER_INITIAL_MEMORY_BUDGET = 40 * 1024 * 1024;

export const PARSER_WASM_TARGET = resolve(dirname(fileURLToPath(import.meta.url)), "../src/guard/parser.generated.wasm");

/** The installed package's module bytes. */
export function packageParserWasm(): Uint8Array {
  return readFileSync(createRequire(import.meta.url).resolve("libpg-query/wasm/libpg-query.wasm"));
}

/** Writes the patched module if it is missing or stale; returns its path. Throws if the layout is unexpected. */
export function buildParserWasm(): string {
  const patched = shrinkParserWasm(packageParserWasm(), PARSER_INITIAL_MEMORY_BUDGET);
  let current: Uint8Array | undefined;
  try {
    current = readFileSync(PARSER_WASM_TARGET);
  } catch {
    current = undefined;
  }
  if (current && Buffer.compare(current, patched) === 0) return PARSER_WASM_TARGET;
  const temporary = `${PARSER_WASM_TARGET}.${process.pid}.tmp`;
  writeFileSync(temporary, patched);
  renameSync(temporary, PARSER_WASM_TARGET);
  return PARSER_WASM_TARGET;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(`parser wasm: ${buildParserWasm()}`);
}
