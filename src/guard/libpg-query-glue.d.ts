// Types for libpg-query's emscripten glue (libpg-query/wasm/libpg-query.js: CommonJS, untyped). Only the parts
// src/guard/wasm-parser.ts uses are declared; the C entry points are libpg_query's (pg_query.h) behind the
// package's wasm_* wrappers.
declare module "libpg-query/wasm/libpg-query.js" {
  /** Emscripten Module options honoured by the glue. */
  export interface PgQueryModuleOptions {
    /** Replaces fetching and compiling the .wasm: instantiate with `imports`, then hand the instance to `receive`. */
    instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void): object;
    print?(text: string): void;
    printErr?(text: string): void;
  }

  /** The initialised module: exported C functions (pointers are byte offsets into the module's memory). */
  export interface PgQueryRuntime {
    _malloc(size: number): number;
    _free(pointer: number): void;
    /** `PgQueryParseResult*` for a NUL-terminated UTF-8 query. */
    _wasm_parse_query_raw(query: number): number;
    _wasm_free_parse_result(result: number): void;
    lengthBytesUTF8(text: string): number;
    stringToUTF8(text: string, pointer: number, maxBytes: number): number;
    UTF8ToString(pointer: number): string;
    getValue(pointer: number, type: "i32"): number;
  }

  export type PgQueryFactory = (options: PgQueryModuleOptions) => Promise<PgQueryRuntime>;

  const factory: PgQueryFactory;
  export default factory;
}
