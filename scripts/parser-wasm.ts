// The guard's parser module with a smaller initial memory (issue 16, "the guard may not fit in a production Worker
// isolate"). Pure: bytes in, bytes out.
//
// libpg-query 18.1.5's WASM module defines (does not import) one memory of 2,048 initial pages (128 MiB), and
// Cloudflare counts WebAssembly memory toward an isolate's 128 MB. What the module needs at start is its static
// data and its stack: emscripten lays them out from address 0 up to the stack's top, which is the initial value of
// the stack-pointer global (global 0), and the heap grows past it on demand (the glue's emscripten_resize_heap
// calls memory.grow; the maximum stays 16,384 pages). So the initial size only has to cover the stack's top.
// The minimum is rewritten in place; anything that does not match this layout is refused, never guessed at.
// WebAssembly binary format: https://webassembly.github.io/spec/core/binary/modules.html

export const WASM_PAGE = 65_536;

export interface ParserWasmLayout {
  memoryMinPages: number;
  memoryMaxPages: number | undefined;
  /** Initial value of global 0, the stack pointer: the end of static data and stack. */
  stackTop: number;
  /** End of the highest active data segment. */
  dataEnd: number;
  /** Byte offset and length of the memory minimum's LEB128 encoding. */
  minimumAt: { offset: number; length: number };
}

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const SECTION = { import: 2, memory: 5, global: 6, data: 11 } as const;
const IMPORT_KIND_MEMORY = 2;
const TYPE_I32 = 0x7f;
const OP_I32_CONST = 0x41;
const OP_END = 0x0b;

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public at = 0,
  ) {}
  byte(): number {
    if (this.at >= this.bytes.length) throw new Error("parser wasm: unexpected end of module");
    return this.bytes[this.at++]!;
  }
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Error("parser wasm: malformed LEB128");
  }
  i32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    return shift < 32 && b & 0x40 ? result | (-1 << shift) : result;
  }
  /** Skips a length-prefixed run of bytes (a name, a passive segment). */
  skipVector(): void {
    const length = this.u32();
    this.at += length;
  }
  skipLimits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

/** Reads the parts of the module the patch depends on; throws when the layout is not the one described above. */
export function readParserWasmLayout(bytes: Uint8Array): ParserWasmLayout {
  if (!MAGIC_AND_VERSION.every((b, i) => bytes[i] === b)) throw new Error("parser wasm: not a WebAssembly 1.0 module");
  const r = new Reader(bytes, 8);
  let memory: Pick<ParserWasmLayout, "memoryMinPages" | "memoryMaxPages" | "minimumAt"> | undefined;
  let stackTop: number | undefined;
  let dataEnd = 0;
  while (r.at < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.at + size;
    if (id === SECTION.import) {
      for (let n = r.u32(); n > 0; n--) {
        r.skipVector();
        r.skipVector();
        const kind = r.byte();
        if (kind === IMPORT_KIND_MEMORY) throw new Error("parser wasm: the module imports its memory; expected it to define one");
        if (kind === 0) r.u32();
        else if (kind === 1) {
          r.byte();
          r.skipLimits();
        } else if (kind === 3) r.at += 2;
        else if (kind === 4) {
          r.byte();
          r.u32();
        } else throw new Error(`parser wasm: unknown import kind ${kind}`);
      }
    } else if (id === SECTION.memory) {
      if (r.u32() !== 1) throw new Error("parser wasm: expected exactly one memory");
      const flags = r.byte();
      if (flags !== 0 && flags !== 1) throw new Error(`parser wasm: unsupported memory flags ${flags} (shared or 64-bit)`);
      const offset = r.at;
      const memoryMinPages = r.u32();
      const minimumAt = { offset, length: r.at - offset };
      memory = { memoryMinPages, memoryMaxPages: flags & 1 ? r.u32() : undefined, minimumAt };
    } else if (id === SECTION.global) {
      if (r.u32() < 1) throw new Error("parser wasm: no globals");
      const type = r.byte();
      const mutable = r.byte();
      const op = r.byte();
      const value = r.i32();
      if (type !== TYPE_I32 || mutable !== 1 || op !== OP_I32_CONST || r.byte() !== OP_END) {
        throw new Error("parser wasm: global 0 is not a mutable i32 initialised by a constant (the stack pointer)");
      }
      stackTop = value;
    } else if (id === SECTION.data) {
      for (let n = r.u32(); n > 0; n--) {
        const mode = r.u32();
        if (mode === 1) {
          r.skipVector();
          continue;
        }
        if (mode === 2 && r.u32() !== 0) throw new Error("parser wasm: data segment for another memory");
        if (mode !== 0 && mode !== 2) throw new Error(`parser wasm: unknown data segment mode ${mode}`);
        if (r.byte() !== OP_I32_CONST) throw new Error("parser wasm: data segment offset is not a constant");
        const start = r.i32();
        if (r.byte() !== OP_END) throw new Error("parser wasm: data segment offset is not a constant");
        const length = r.u32();
        r.at += length;
        dataEnd = Math.max(dataEnd, start + length);
      }
    }
    r.at = end;
  }
  if (!memory) throw new Error("parser wasm: no memory section");
  if (stackTop === undefined || stackTop <= 0) throw new Error("parser wasm: no stack-pointer global");
  if (stackTop % 16 !== 0) throw new Error(`parser wasm: stack top ${stackTop} is not 16-byte aligned`);
  if (dataEnd > stackTop) throw new Error(`parser wasm: static data ends at ${dataEnd}, above the stack top ${stackTop}`);
  if (stackTop > memory.memoryMinPages * WASM_PAGE) throw new Error("parser wasm: the stack top lies beyond the initial memory");
  return { ...memory, stackTop, dataEnd };
}

/** The initial pages: the stack's top, rounded up to a page, plus one page for the allocator's first blocks. */
export function neededInitialPages(layout: ParserWasmLayout): number {
  return Math.ceil(layout.stackTop / WASM_PAGE) + 1;
}

/**
 * A copy of `bytes` whose memory minimum is `neededInitialPages`, written in the same number of LEB128 bytes (so no
 * section size or offset changes). Throws when that would not shrink the memory or not fit `maxInitialBytes`.
 */
export function shrinkParserWasm(bytes: Uint8Array, maxInitialBytes: number): Uint8Array<ArrayBuffer> {
  const layout = readParserWasmLayout(bytes);
  const pages = neededInitialPages(layout);
  if (pages * WASM_PAGE > maxInitialBytes) {
    throw new Error(`parser wasm: needs ${pages} initial pages (${pages * WASM_PAGE} bytes), over the ${maxInitialBytes}-byte budget`);
  }
  if (pages > layout.memoryMinPages) throw new Error("parser wasm: the module's initial memory is already smaller than needed");
  const out = new Uint8Array(bytes);
  const { offset, length } = layout.minimumAt;
  let value = pages;
  for (let i = 0; i < length; i++) {
    const last = i === length - 1;
    out[offset + i] = (value & 0x7f) | (last ? 0 : 0x80);
    value = Math.floor(value / 128);
  }
  if (value !== 0) throw new Error("parser wasm: the new minimum does not fit the old encoding");
  return out;
}
