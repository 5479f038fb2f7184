// Types shared by the execute_sql guard (docs/security.md "The `execute_sql` guard").

/** Why a statement was refused. Stable identifiers: they are shown to callers and recorded in the audit log. */
export type GuardRule =
  /** libpg-query could not parse the text (PostgreSQL 18 grammar). */
  | "parse_error"
  /** The text holds no statement (empty, or comments only). */
  | "no_statement"
  /** More than one statement. */
  | "multiple_statements"
  /** The statement, or a statement nested in it, is not a SELECT (incl. VALUES and TABLE). */
  | "not_select"
  /** INSERT, UPDATE, DELETE or MERGE inside WITH. */
  | "data_modifying_cte"
  /** SELECT … INTO (creates a table). */
  | "select_into"
  /** FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE. */
  | "locking_clause"
  /** A schema-qualified relation that the tool's allowlist does not name. */
  | "relation_not_allowed"
  /** An unqualified relation name that is not a CTE in scope (it would resolve through search_path). */
  | "unqualified_relation"
  /** A relation in pg_catalog, information_schema or any other pg_* system schema. */
  | "catalog_relation"
  /** A function outside the generated allowlist of pg_catalog built-ins. */
  | "function_not_allowed"
  /** A function on the explicit denylist (side effects, SQL in a string, catalog or session introspection). */
  | "function_denied"
  /** An operator named with a schema other than pg_catalog. */
  | "operator_not_allowed"
  /** A type outside the generated allowlist of pg_catalog types (reg* lookups, row types, user types). */
  | "type_not_allowed"
  /** A system column (ctid, xmin, xmax, cmin, cmax, tableoid). */
  | "system_column"
  /**
   * A `$n` parameter reference: execute_sql sends no parameters of its own, so `$n` could only bind to a value the
   * gateway adds around the statement (such as its row limit).
   */
  | "parameter_reference"
  /**
   * A function that builds large values from small input (repeat, lpad, rpad, format widths, array_fill, char(n) or
   * bit(n) casts, generate_series) with a size that is not a literal, or a statement whose generated volume is over
   * the ceiling (src/guard/sizes.ts).
   */
  | "generated_size"
  /** The syntax tree nests deeper than the guard walks. */
  | "too_complex";

export interface GuardPolicy {
  /**
   * Relations the tool may read, schema-qualified and spelled as in the catalog (`schema.relation`, e.g.
   * "reporting.revenue_summary"). Relations in system schemas are refused even when listed here.
   */
  allowedRelations: readonly string[];
}

export type GuardResult = GuardAccepted | GuardRefused;

export interface GuardAccepted {
  ok: true;
  /** The allowlisted relations the statement reads, `schema.relation`, sorted and distinct. */
  relations: string[];
}

export interface GuardRefused {
  ok: false;
  rule: GuardRule;
  /** Names the rule and the offending object; safe to show to the caller. */
  message: string;
}

/**
 * The JSON parse tree libpg-query emits (`pg_query_parse`): `{ version, stmts: [{ stmt, stmt_location, stmt_len }] }`.
 * Only the envelope is typed; statements are walked as plain JSON.
 */
export interface ParseTree {
  version?: number;
  stmts?: ReadonlyArray<RawStatement>;
}

export interface RawStatement {
  stmt?: unknown;
  stmt_location?: number;
  stmt_len?: number;
}

export type SqlParseResult =
  | { ok: true; tree: ParseTree }
  | {
      ok: false;
      /** PostgreSQL's message, e.g. `syntax error at or near "FROM"`. */
      message: string;
      /** 1-based character position of the error in the input, as in PostgreSQL's error field P; 0 if unknown. */
      position: number;
    };
