import { describe, expect, it } from "vitest";
import { deniedFunctionReason, FUNCTION_DENYLIST } from "../../../src/guard/denylist";
import { ALLOWED_FUNCTIONS, ALLOWED_TYPES, ALLOWLIST_SERVER_VERSION } from "../../../src/guard/functions.generated";
import { renderAllowlistModule } from "../../../scripts/function-allowlist";

describe("function denylist", () => {
  it.each([
    // docs/security.md's families, one or more members each.
    "query_to_xml",
    "query_to_xml_and_xmlschema",
    "ts_stat",
    "ts_rewrite",
    "dblink",
    "dblink_exec",
    "set_config",
    "pg_advisory_lock",
    "pg_advisory_unlock_all",
    "pg_try_advisory_xact_lock_shared",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
    "pg_notify",
    "pg_logical_emit_message",
    "pg_logical_slot_get_changes",
    "lo_import",
    "lo_unlink",
    "loread",
    "lowrite",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_ls_waldir",
    "txid_current",
    "txid_current_snapshot",
    "pg_current_xact_id",
    "pg_current_xact_id_if_assigned",
    // Added here: settings, sessions, catalog lookups, server identity.
    "current_setting",
    "pg_stat_get_activity",
    "pg_backend_pid",
    "to_regclass",
    "regclass",
    "has_table_privilege",
    "pg_get_viewdef",
    "pg_table_is_visible",
    "format_type",
    "pg_input_is_valid",
    "version",
    "table_to_xml",
    "schema_to_xml",
    "database_to_xml",
    "cursor_to_xml",
  ])("denies %s", (name) => {
    expect(deniedFunctionReason(name)).toBeTypeOf("string");
  });

  it.each(["log", "lower", "lo", "age", "acos", "regexp_replace", "regr_slope", "pg_size_pretty", "pg_typeof", "txid", "set", "my_pg_sleep", "xversion"])(
    "does not deny %s (patterns match whole names)",
    (name) => {
      expect(deniedFunctionReason(name)).toBeUndefined();
    },
  );

  it("is written in lower case, as the parser folds unquoted names", () => {
    for (const category of FUNCTION_DENYLIST) for (const pattern of category.patterns) expect(pattern).toBe(pattern.toLowerCase());
  });
});

describe("generated allowlist", () => {
  it("was read from PostgreSQL 18", () => {
    expect(ALLOWLIST_SERVER_VERSION).toMatch(/^18\./);
  });

  it("holds no denied function", () => {
    expect(ALLOWED_FUNCTIONS.filter((name) => deniedFunctionReason(name) !== undefined)).toEqual([]);
  });

  it("holds no volatile, SECURITY DEFINER or name-lookup built-in that analytics might be tempted by", () => {
    for (const name of ["random", "nextval", "setval", "currval", "clock_timestamp", "gen_random_uuid", "pg_relation_size", "pg_stat_file", "regclassin", "int4in"]) {
      expect(ALLOWED_FUNCTIONS, name).not.toContain(name);
    }
  });

  it("holds the analytic built-ins, including those the grammar emits for SQL-standard syntax", () => {
    for (const name of [
      "count",
      "sum",
      "avg",
      "min",
      "max",
      "stddev_samp",
      "corr",
      "percentile_cont",
      "percentile_disc",
      "mode",
      "row_number",
      "rank",
      "dense_rank",
      "lag",
      "lead",
      "first_value",
      "ntile",
      "string_agg",
      "array_agg",
      "json_agg",
      "jsonb_build_object",
      "date_trunc",
      "date_part",
      "make_date",
      "to_char",
      "now",
      "round",
      "generate_series",
      "unnest",
      "regexp_replace",
      "extract",
      "substring",
      "btrim",
      "ltrim",
      "rtrim",
      "position",
      "overlay",
      "timezone",
      "pg_collation_for",
      "normalize",
      "is_normalized",
      "system_user",
      "xmlexists",
      "overlaps",
      "like_escape",
      "similar_to_escape",
      "pg_typeof",
    ]) {
      expect(ALLOWED_FUNCTIONS, name).toContain(name);
    }
  });

  it("allows the built-in scalar types and refuses the lookup types", () => {
    for (const name of [
      "int2",
      "int4",
      "int8",
      "numeric",
      "float4",
      "float8",
      "text",
      "varchar",
      "bpchar",
      "char",
      "bool",
      "date",
      "time",
      "timetz",
      "timestamp",
      "timestamptz",
      "interval",
      "json",
      "jsonb",
      "uuid",
      "bytea",
      "varbit",
      "_int4",
      "regconfig",
    ]) {
      expect(ALLOWED_TYPES, name).toContain(name);
    }
    for (const name of [
      "regclass",
      "regproc",
      "regprocedure",
      "regoper",
      "regoperator",
      "regtype",
      "regnamespace",
      "regrole",
      "regcollation",
      "_regclass",
      "aclitem",
      "pg_class",
      "record",
      "cstring",
      "internal",
    ]) {
      expect(ALLOWED_TYPES, name).not.toContain(name);
    }
  });

  it("is sorted and distinct", () => {
    for (const list of [ALLOWED_FUNCTIONS, ALLOWED_TYPES]) {
      expect([...new Set(list)]).toEqual(list);
      expect([...list].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(list);
    }
  });
});

describe("renderAllowlistModule", () => {
  it("renders sorted, distinct lists with the server version and no timestamp", () => {
    const source = renderAllowlistModule({ serverVersion: "18.9", functions: ["lower", "abs", "lower"], types: ["text", "int4"] });
    expect(source).toContain("PostgreSQL 18.9");
    expect(source).toContain('export const ALLOWLIST_SERVER_VERSION = "18.9";');
    expect(source).toContain('ALLOWED_FUNCTIONS: readonly string[] = [\n  "abs",\n  "lower",\n];');
    expect(source).toContain('ALLOWED_TYPES: readonly string[] = [\n  "int4",\n  "text",\n];');
    expect(source).toBe(renderAllowlistModule({ serverVersion: "18.9", functions: ["abs", "lower"], types: ["int4", "text"] }));
    expect(source).not.toMatch(/20\d\d-\d\d-\d\d/);
  });
});
