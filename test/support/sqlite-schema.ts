import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The subset of a synchronous SQLite handle this needs (node:sqlite's DatabaseSync). */
export interface SqliteHandle {
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
}

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

/** migrations/NNNN_name.sql in the order wrangler applies them (by name). */
export function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort();
}

export function readMigration(name: string): string {
  return readFileSync(join(MIGRATIONS_DIR, name), "utf8");
}

/** SQL text with comments removed, whitespace collapsed, and identifiers unquoted, for comparing definitions. */
export function normaliseSql(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, " ")
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/"([A-Za-z_][A-Za-z0-9_]*)"/g, "$1")
    .replace(/\s+/g, " ")
    .replace(/\s*([(),])\s*/g, "$1")
    .replace(/\bIF NOT EXISTS /gi, "")
    .trim();
}

/** The CHECK (…) expressions of a CREATE TABLE, normalised, in order. */
function checks(sql: string): string[] {
  const text = normaliseSql(sql);
  const out: string[] = [];
  for (let i = text.search(/\bCHECK\(/i); i >= 0; ) {
    let depth = 0;
    let j = text.indexOf("(", i);
    const start = j;
    for (; j < text.length; j++) {
      if (text[j] === "(") depth++;
      else if (text[j] === ")" && --depth === 0) break;
    }
    out.push(text.slice(start, j + 1));
    const next = text.slice(j + 1).search(/\bCHECK\(/i);
    i = next < 0 ? -1 : j + 1 + next;
  }
  return out;
}

/**
 * The schema as SQLite sees it, independent of how it was written: per table its columns (name, declared type,
 * NOT NULL, default, primary-key position, in order), CHECK constraints and foreign keys; per index its table,
 * uniqueness, columns and partial-index condition (auto-indexes by their columns, since a rebuilt table's get new
 * names); triggers and views by their normalised SQL. Migration bookkeeping and SQLite/D1 internals are left out.
 */
export function describeSchema(db: SqliteHandle, opts: { columnOrder?: boolean } = {}): Record<string, unknown> {
  const objects = db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY type, name")
    .all() as Array<{ type: string; name: string; tbl_name: string; sql: string | null }>;
  const tables: Record<string, unknown> = {};
  const indexes: Record<string, unknown> = {};
  const other: Record<string, unknown> = {};
  for (const o of objects) {
    if (o.type === "table") {
      // Column order matters unless asked otherwise: a database created by an older schema.sql may have a column
      // where that file put it rather than at the end, where the migration that added it put it.
      const order = opts.columnOrder === false ? "name" : "cid";
      const columns = db.prepare(`SELECT name, upper(type) AS type, "notnull" AS not_null, dflt_value, pk FROM pragma_table_xinfo(?) ORDER BY ${order}`).all(o.name);
      const foreignKeys = db.prepare('SELECT "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq').all(o.name);
      const autoIndexes = (
        db.prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?) WHERE origin <> 'c' ORDER BY name").all(o.name) as Array<{
          name: string;
          unique: number;
          origin: string;
          partial: number;
        }>
      ).map((ix) => ({
        unique: ix.unique,
        origin: ix.origin,
        columns: (db.prepare("SELECT name FROM pragma_index_info(?) ORDER BY seqno").all(ix.name) as Array<{ name: string }>).map((c) => c.name),
      }));
      tables[o.name] = { columns, checks: checks(o.sql ?? ""), foreignKeys, autoIndexes };
    } else if (o.type === "index") {
      if (o.sql === null) continue; // an auto-index, described with its table
      const info = (db.prepare('SELECT "unique", partial FROM pragma_index_list(?) WHERE name = ?').all(o.tbl_name, o.name) as Array<{ unique: number; partial: number }>)[0];
      const columns = db.prepare('SELECT name, "desc", coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno').all(o.name) as Array<Record<string, unknown>>;
      const where = /\bWHERE\b(.*)$/i.exec(normaliseSql(o.sql))?.[1]?.trim() ?? null;
      indexes[o.name] = { table: o.tbl_name, unique: info?.unique, columns, where };
    } else {
      other[`${o.type} ${o.name}`] = normaliseSql(o.sql ?? "");
    }
  }
  return { tables, indexes, other };
}
