// How much the functions that build large values from small input would build (issue 16, finding 4). Pure: it reads
// literals in the parse tree and nothing else.
//
// Postgres has no per-backend memory limit: work_mem and temp_file_limit (postgres/roles.sql) bound sorts, hashes
// and temporary files, not a value an expression builds. `repeat(repeat('x', 1000000), 1000)` is one 1 GB string,
// built while planning (constant folding) and held until the statement ends. So execute_sql takes the sizes of
// these functions from literals only, and the guard adds them up per statement:
// - repeat(string, count): the string and the count are literals; it builds length × count characters;
// - lpad/rpad(string, length [, fill]): the length is an integer literal; it builds `length` characters;
// - format(fmt, …): fmt is a string literal whose widths are digits (not `*`); it builds the sum of the widths;
// - array_fill(value, dims [, lbounds]): the value is a literal or NULL and dims a literal array of integers; it
//   builds the product of dims elements (times the value's length);
// - a cast to char(n) or bit(n) pads to n: it builds n;
// - generate_series(start, stop [, step]): numbers, or a date/timestamp pair with a literal interval step; it
//   yields about (stop − start) / step + 1 rows (intervals counted at their shortest: a month as 28 days).
// The statement's volume is (everything built, at least 1) × (the rows of its series multiplied): each built value
// may be repeated on every generated row (array_agg, string_agg).
//
// Not bounded here, on purpose: functions whose output is proportional to their input (concat, ||, replace,
// overlay, to_char, encode, …) and aggregates over relations, whose input is stored data. Nesting those can still
// multiply (replace(replace(…))); the statement timeout and Postgres's 1 GB limit per value bound them.
import { builtinName, nameParts } from "./names";
import type { JsonObject } from "./walk";
import { isJsonObject, unwrapNode } from "./walk";

/** The ceiling on a statement's generated volume (characters, array elements, series rows; see above). */
export const MAX_GENERATED_VOLUME = 1_000_000;

export type SizeEffect = { kind: "built"; amount: number } | { kind: "rows"; amount: number } | { kind: "refused"; reason: string };

/** The bounded functions, by pg_catalog name. */
const SIZED_FUNCTIONS: Readonly<Record<string, (args: unknown[]) => SizeEffect>> = {
  repeat: sizeOfRepeat,
  lpad: sizeOfPad,
  rpad: sizeOfPad,
  format: sizeOfFormat,
  array_fill: sizeOfArrayFill,
  generate_series: sizeOfSeries,
};

/** The size effect of a FuncCall body, or undefined when the function is not one that builds large values. */
export function functionSize(funcname: unknown, call: JsonObject): SizeEffect | undefined {
  const parts = nameParts(funcname);
  const name = parts ? builtinName(parts) : undefined;
  const measure = name === undefined ? undefined : SIZED_FUNCTIONS[name];
  if (!measure) return undefined;
  const args = Array.isArray(call.args) ? call.args : [];
  if (call.func_variadic === true || args.some((arg) => isJsonObject(arg) && "NamedArgExpr" in arg)) {
    return refused(`${name}: pass its arguments by position, without VARIADIC, so their sizes can be checked`);
  }
  return measure(args);
}

/** Padding types whose type modifier is a length the value is padded to (char(n) with spaces, bit(n) with zeros). */
const PADDED_TYPES: ReadonlySet<string> = new Set(["bpchar", "bit"]);

/** The size effect of a TypeName (casts, column definitions), or undefined when it pads nothing. */
export function typeSize(typeName: JsonObject): SizeEffect | undefined {
  const parts = nameParts(typeName.names);
  const name = parts ? builtinName(parts) : undefined;
  if (name === undefined || !PADDED_TYPES.has(name) || !Array.isArray(typeName.typmods)) return undefined;
  const length = integerLiteral(typeName.typmods[0]);
  if (length === undefined) return refused(`${name}(n): n must be an integer literal`);
  return built(length);
}

function sizeOfRepeat(args: unknown[]): SizeEffect {
  const text = stringLiteral(args[0]);
  const count = integerLiteral(args[1]);
  if (text === undefined || count === undefined) return refused("repeat(string, count): the string and the count must be literals");
  return built([...text].length * Math.max(0, count));
}

function sizeOfPad(args: unknown[]): SizeEffect {
  const length = integerLiteral(args[1]);
  if (length === undefined) return refused("lpad/rpad(string, length): the length must be an integer literal");
  return built(Math.max(0, length));
}

function sizeOfFormat(args: unknown[]): SizeEffect {
  const template = stringLiteral(args[0]);
  if (template === undefined) return refused("format(template, …): the template must be a string literal");
  let total = 0;
  // %[position$][flags][width]type (PostgreSQL docs §9.4.1 "format"); `%%` is a literal percent sign.
  for (const spec of template.matchAll(/%(?:%|(\d+\$)?(-?)(\*(?:\d+\$)?|\d*)([a-zA-Z]))/g)) {
    const width = spec[3];
    if (width === undefined || width === "") continue;
    if (width.startsWith("*")) return refused("format: widths must be written as digits in the template, not taken from an argument (*)");
    total += Number(width);
  }
  return built(total);
}

function sizeOfArrayFill(args: unknown[]): SizeEffect {
  const value = args[0];
  const valueLength = isNullLiteral(value) ? 1 : (stringLiteral(value)?.length ?? numberLiteralText(value)?.length);
  const dims = integerArrayLiteral(args[1]);
  if (valueLength === undefined || dims === undefined) {
    return refused("array_fill(value, dimensions): the value and the dimensions must be literals");
  }
  return built(dims.reduce((product, n) => product * Math.max(0, n), 1) * Math.max(1, valueLength));
}

function sizeOfSeries(args: unknown[]): SizeEffect {
  const [start, stop, step] = [numberLiteral(args[0]), numberLiteral(args[1]), args.length > 2 ? numberLiteral(args[2]) : 1];
  if (start !== undefined && stop !== undefined && step !== undefined) return rows(seriesLength(start, stop, step));

  const [from, to] = [timestampLiteral(args[0]), timestampLiteral(args[1])];
  const shortestStep = intervalLiteralSeconds(args[2]);
  if (from !== undefined && to !== undefined && shortestStep !== undefined) return rows(seriesLength(from, to, shortestStep * 1000));
  return refused(
    "generate_series: start, stop and step must be number literals, or date/timestamp literals with a literal interval step (e.g. date '2026-01-01', date '2026-06-30', interval '1 month')",
  );
}

function seriesLength(start: number, stop: number, step: number): number {
  if (step === 0 || !Number.isFinite(step)) return Number.POSITIVE_INFINITY;
  const steps = Math.floor((stop - start) / step);
  return steps < 0 ? 0 : steps + 1;
}

function built(amount: number): SizeEffect {
  return { kind: "built", amount };
}

function rows(amount: number): SizeEffect {
  return { kind: "rows", amount };
}

function refused(reason: string): SizeEffect {
  return { kind: "refused", reason };
}

// --- Literals as libpg-query emits them: A_Const { ival | fval | sval | boolval | isnull }, optionally inside a
// TypeCast. `-5` arrives folded into the constant (gram.y doNegate); integers beyond int4 arrive as fval.

function constant(node: unknown): JsonObject | undefined {
  const wrapped = isJsonObject(node) ? unwrapNode(node) : undefined;
  if (!wrapped) return undefined;
  if (wrapped[0] === "A_Const") return wrapped[1];
  if (wrapped[0] === "TypeCast" && isJsonObject(wrapped[1].arg)) return constant(wrapped[1].arg);
  return undefined;
}

function castTypeName(node: unknown): string | undefined {
  const wrapped = isJsonObject(node) ? unwrapNode(node) : undefined;
  if (wrapped?.[0] !== "TypeCast" || !isJsonObject(wrapped[1].typeName)) return undefined;
  const typeName = wrapped[1].typeName;
  if (Array.isArray(typeName.typmods) && typeName.typmods.length > 0) return undefined;
  const parts = nameParts(typeName.names);
  return parts ? builtinName(parts) : undefined;
}

function isNullLiteral(node: unknown): boolean {
  return constant(node)?.isnull === true;
}

function stringLiteral(node: unknown): string | undefined {
  const value = constant(node)?.sval;
  if (!isJsonObject(value)) return undefined;
  return typeof value.sval === "string" ? value.sval : "";
}

function numberLiteralText(node: unknown): string | undefined {
  const c = constant(node);
  if (!c) return undefined;
  if (isJsonObject(c.ival)) return String(typeof c.ival.ival === "number" ? c.ival.ival : 0);
  if (isJsonObject(c.fval) && typeof c.fval.fval === "string") return c.fval.fval;
  return undefined;
}

function numberLiteral(node: unknown): number | undefined {
  const text = numberLiteralText(node);
  const value = text === undefined ? Number.NaN : Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function integerLiteral(node: unknown): number | undefined {
  const value = numberLiteral(node);
  return value !== undefined && Number.isInteger(value) ? value : undefined;
}

/** ARRAY[2, 3] or '{2,3}' (optionally cast): the dimensions of array_fill. */
function integerArrayLiteral(node: unknown): number[] | undefined {
  const wrapped = isJsonObject(node) ? unwrapNode(node) : undefined;
  const arrayNode = wrapped?.[0] === "TypeCast" && isJsonObject(wrapped[1].arg) ? unwrapNode(wrapped[1].arg) : wrapped;
  if (arrayNode?.[0] === "A_ArrayExpr") {
    const elements = Array.isArray(arrayNode[1].elements) ? arrayNode[1].elements : [];
    const values = elements.map(integerLiteral);
    return values.every((v): v is number => v !== undefined) ? values : undefined;
  }
  const text = stringLiteral(node);
  const match = text === undefined ? null : /^\s*\{\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\}\s*$/.exec(text);
  return match?.[1] ? match[1].split(",").map((part) => Number(part.trim())) : undefined;
}

const TIMESTAMP_TYPES: ReadonlySet<string> = new Set(["date", "timestamp", "timestamptz"]);

/** date '2026-01-01', timestamp '2026-01-01 12:00[:00[.fff]]' (a zone suffix is ignored): milliseconds. */
function timestampLiteral(node: unknown): number | undefined {
  const type = castTypeName(node);
  const text = stringLiteral(node);
  if (type === undefined || !TIMESTAMP_TYPES.has(type) || text === undefined) return undefined;
  const match = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?:\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?\s*$/i.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h = "0", mi = "0", s = "0"] = match;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
}

/** Shortest length in seconds of each interval unit (a day can be 23 hours across a DST change). */
const UNIT_SECONDS: ReadonlyArray<[RegExp, number]> = [
  [/^(?:microseconds?|usecs?|us)$/, 1e-6],
  [/^(?:milliseconds?|msecs?|ms)$/, 1e-3],
  [/^(?:seconds?|secs?|s)$/, 1],
  [/^(?:minutes?|mins?|m)$/, 60],
  [/^(?:hours?|hrs?|h)$/, 3600],
  [/^(?:days?|d)$/, 23 * 3600],
  [/^(?:weeks?|w)$/, 7 * 23 * 3600],
  [/^(?:months?|mons?)$/, 28 * 86400],
  [/^(?:years?|yrs?|y)$/, 365 * 86400],
  [/^(?:decades?)$/, 3650 * 86400],
  [/^(?:centuries|century)$/, 36500 * 86400],
  [/^(?:millennia|millennium)$/, 365000 * 86400],
];

/**
 * interval '1 month', '15 minutes', '1 day 12 hours' (Postgres's "quantity unit" form, optionally with `ago`):
 * the shortest the step can be, in seconds, signed. Mixed signs and other forms are not read.
 */
function intervalLiteralSeconds(node: unknown): number | undefined {
  if (castTypeName(node) !== "interval") return undefined;
  const text = stringLiteral(node)?.trim().toLowerCase().replace(/^@\s*/, "");
  if (!text) return undefined;
  const ago = /\s+ago$/.test(text);
  const tokens = text.replace(/\s+ago$/, "").split(/\s+/);
  if (tokens.length % 2 !== 0) return undefined;
  let total = 0;
  let sign = 0;
  for (let i = 0; i < tokens.length; i += 2) {
    const quantity = Number(tokens[i]);
    const unit = UNIT_SECONDS.find(([pattern]) => pattern.test(tokens[i + 1] ?? ""));
    if (!Number.isFinite(quantity) || !unit) return undefined;
    const partSign = Math.sign(quantity);
    if (partSign !== 0 && sign !== 0 && partSign !== sign) return undefined;
    if (partSign !== 0) sign = partSign;
    total += quantity * unit[1];
  }
  return ago ? -total : total;
}
