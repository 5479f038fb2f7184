// Names as the parser hands them over. PostgreSQL's lexer has already normalised every identifier (PostgreSQL
// docs §4.1.1): unquoted ones are folded to lower case, quoted ones ("PG_SLEEP") keep their case, U&"…" escapes
// are decoded, and all are truncated to 63 bytes. So the guard compares names exactly, as the server resolves
// them, and never folds case itself: "PG_SLEEP" is not pg_sleep (it is a function that does not exist in
// pg_catalog, which the allowlist refuses anyway).

/** The schema every built-in function, operator and type lives in. */
export const CATALOG_SCHEMA = "pg_catalog";

/** The parts of a name list (`[{ String: { sval } }, …]`); undefined when any part is not a plain string. */
export function nameParts(list: unknown): string[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const parts: string[] = [];
  for (const item of list) {
    const sval = stringNodeValue(item);
    if (sval === undefined) return undefined;
    parts.push(sval);
  }
  return parts;
}

/** The `sval` of a `{ String: { sval } }` node (an absent sval is the empty string, as libpg-query omits it). */
export function stringNodeValue(node: unknown): string | undefined {
  if (typeof node !== "object" || node === null || !("String" in node)) return undefined;
  const body: unknown = node.String;
  if (typeof body !== "object" || body === null) return undefined;
  const sval: unknown = "sval" in body ? body.sval : "";
  return typeof sval === "string" ? sval : undefined;
}

/**
 * The object name of a built-in's name list: `name` or `pg_catalog.name`. Undefined for any other qualification,
 * including a catalog-qualified `db.pg_catalog.name`: only pg_catalog's objects are built-ins.
 */
export function builtinName(parts: readonly string[]): string | undefined {
  if (parts.length === 1) return parts[0];
  if (parts.length === 2 && parts[0] === CATALOG_SCHEMA) return parts[1];
  return undefined;
}

/** pg_catalog, pg_toast, pg_temp_N and every other pg_* schema are reserved for the system (§5.10.5), as is information_schema. */
export function isSystemSchema(schema: string): boolean {
  return schema.startsWith("pg_") || schema === "information_schema";
}

/** A name for messages, quoted as SQL would need it, with control characters escaped. */
export function displayName(parts: readonly string[]): string {
  return parts.map(displayIdentifier).join(".");
}

function displayIdentifier(identifier: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters in an identifier are shown escaped
  const visible = identifier.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return /^[a-z_][a-z0-9_$]*$/.test(identifier) ? visible : `"${visible.replace(/"/g, '""')}"`;
}
