// Query parameters arrive as JSON and are sent to Postgres as text (docs/neon-http.md): null is NULL, a string as it is,
// a boolean, number or object as its JSON text, an array as a Postgres array literal. The driver already sends
// text (it runs pg's prepareValue), so the conversions matter for other HTTP clients.
export type PgParam = string | null;

export function toPgParams(values: readonly unknown[]): PgParam[] {
  return values.map(toPgParam);
}

function toPgParam(value: unknown): PgParam {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return arrayLiteral(value);
  return JSON.stringify(value);
}

// Elements are quoted (so an element "NULL" stays a string) with `"` and `\` escaped; null elements are NULL;
// objects become quoted JSON; nested arrays become nested braces. Postgres checks the element type.
function arrayLiteral(values: readonly unknown[]): string {
  return `{${values.map(arrayElement).join(",")}}`;
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (Array.isArray(value)) return arrayLiteral(value);
  if (typeof value === "string") return quote(value);
  if (typeof value === "object") return quote(JSON.stringify(value));
  return JSON.stringify(value);
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (char) => `\\${char}`)}"`;
}
