/// <reference path="./libpg-query-glue.d.ts" />
// The PostgreSQL 18 parser (libpg_query compiled to WASM by the libpg-query package), driven directly through its
// C entry points so that it runs wherever a WebAssembly.Module can be instantiated: workerd (src/guard/parser.ts)
// and Node (tests). It only parses (raw_parser: no catalog access); analysis is the guard's job.
import type { PgQueryFactory, PgQueryRuntime } from "libpg-query/wasm/libpg-query.js";
import type { ParseTree, SqlParseResult } from "./types";

export interface SqlParser {
  /** Parses `sql` synchronously. Throws only if the WASM module itself fails (a trap); the parser is then unusable. */
  parse(sql: string): SqlParseResult;
  /** Current size of the module's linear memory in bytes (it starts at the initial pages and grows on demand). */
  memoryBytes(): number;
}

// wasm32 layouts of libpg_query's result structs (pg_query.h):
//   PgQueryParseResult { char *parse_tree; char *stderr_buffer; PgQueryError *error; }
//   PgQueryError       { char *message; char *funcname; char *filename; int lineno; int cursorpos; char *context; }
const RESULT_PARSE_TREE = 0;
const RESULT_ERROR = 8;
const ERROR_MESSAGE = 0;
const ERROR_CURSORPOS = 16;

/**
 * Instantiates libpg-query's module from an already compiled `wasm` (in workerd, the module wrangler bundles from a
 * `.wasm` import; code generation from bytes is not available there). The glue's own fetching and file reading
 * are never used.
 */
export async function instantiatePgQuery(factory: PgQueryFactory, wasm: WebAssembly.Module): Promise<SqlParser> {
  let failInstantiation: (error: unknown) => void = () => {};
  let memory: WebAssembly.Memory | undefined;
  // The glue waits for `receive` and never hears about an instantiation error; this promise carries it instead.
  const instantiationFailed = new Promise<never>((_, reject) => (failInstantiation = reject));
  const runtime = await Promise.race([
    factory({
      instantiateWasm(imports, receive) {
        WebAssembly.instantiate(wasm, imports).then((instance) => {
          // The module defines and exports its memory (under a minified name).
          memory = Object.values(instance.exports).find((value) => value instanceof WebAssembly.Memory);
          receive(instance);
        }, failInstantiation);
        return {};
      },
      // libpg_query writes nothing worth keeping; parse errors come back in the result struct.
      print() {},
      printErr() {},
    }),
    instantiationFailed,
  ]);
  return { parse: (sql) => parseWith(runtime, sql), memoryBytes: () => memory?.buffer.byteLength ?? 0 };
}

function parseWith(runtime: PgQueryRuntime, sql: string): SqlParseResult {
  // The text crosses into C as a NUL-terminated string: an embedded NUL would hide everything after it from the
  // parser, while the server may see (or reject) the rest. Lone UTF-16 surrogates have no UTF-8 encoding, so the
  // parser and the server would each see a different substitute.
  const nul = sql.indexOf("\0");
  if (nul >= 0) return { ok: false, message: "the statement contains a NUL character", position: charPosition(sql, nul) };
  const surrogate = /\p{Cs}/u.exec(sql);
  if (surrogate) {
    return { ok: false, message: "the statement contains an unpaired UTF-16 surrogate", position: charPosition(sql, surrogate.index) };
  }

  const size = runtime.lengthBytesUTF8(sql) + 1;
  const query = runtime._malloc(size);
  if (!query) throw new Error("libpg-query: out of memory");
  let result = 0;
  try {
    runtime.stringToUTF8(sql, query, size);
    result = runtime._wasm_parse_query_raw(query);
    if (!result) throw new Error("libpg-query: no parse result");
    const error = runtime.getValue(result + RESULT_ERROR, "i32");
    if (error) {
      const message = runtime.getValue(error + ERROR_MESSAGE, "i32");
      return {
        ok: false,
        message: message ? runtime.UTF8ToString(message) : "syntax error",
        // PostgreSQL's cursorpos: 1-based, in characters; 0 when the error has no position.
        position: Math.max(0, runtime.getValue(error + ERROR_CURSORPOS, "i32")),
      };
    }
    const tree = runtime.getValue(result + RESULT_PARSE_TREE, "i32");
    if (!tree) throw new Error("libpg-query: empty parse result");
    return { ok: true, tree: JSON.parse(runtime.UTF8ToString(tree)) as ParseTree };
  } finally {
    runtime._free(query);
    if (result) runtime._wasm_free_parse_result(result);
  }
}

/** 1-based position of the UTF-16 index `index`, counted in code points as PostgreSQL counts characters. */
function charPosition(sql: string, index: number): number {
  return [...sql.slice(0, index)].length + 1;
}
