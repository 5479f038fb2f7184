// Built-in functions execute_sql refuses even though pg_proc marks them IMMUTABLE or STABLE (docs/security.md). The
// generator (scripts/generate-function-allowlist.ts) leaves them out of the allowlist; the guard also checks this
// list first, so a refusal names the reason. Volatile functions (pg_sleep, set_config, lo_*, pg_read_file, ...)
// are never in the allowlist; they are listed here too so the denial does not depend on pg_proc's volatility
// marks, which change between major versions.
//
// Patterns are lower-case function names; `*` matches any run of characters.

export interface DenyCategory {
  /** Why the family is refused, phrased to complete "function X is refused: it …". */
  reason: string;
  patterns: readonly string[];
}

export const FUNCTION_DENYLIST: readonly DenyCategory[] = [
  {
    // The query text or the relation names these take are not in the statement the guard checks, so the
    // relation allowlist would not see what they read (PostgreSQL docs §9.15.3 "Mapping Tables to XML", §12.4.4
    // ts_stat, §9.13 ts_rewrite with a query; dblink is an extension that connects elsewhere).
    reason: "runs SQL given as a string or reads relations by name, out of the guard's sight",
    patterns: ["query_to_xml*", "query_to_xmlschema", "cursor_to_xml*", "table_to_xml*", "schema_to_xml*", "database_to_xml*", "ts_stat", "ts_rewrite", "dblink*"],
  },
  {
    // set_config('role', ...) / ('search_path', ...) change who or where later statements run as; reading
    // settings discloses server configuration that analytics never needs (§9.28.1 Configuration Settings).
    reason: "reads or changes server and session settings",
    patterns: ["set_config", "current_setting", "pg_settings_get_flags", "pg_show_all_settings"],
  },
  {
    // Advisory locks outlive the statement in a pooled session; signalling and notifying reach other sessions;
    // the pg_stat_* functions show other sessions of the same role (i.e. other callers' queries) (§9.28.2, §27.2).
    reason: "takes locks, or observes or signals other sessions",
    patterns: [
      "pg_advisory*",
      "pg_try_advisory*",
      "pg_terminate_backend",
      "pg_cancel_backend",
      "pg_notify",
      "pg_listening_channels",
      "pg_notification_queue_usage",
      "pg_backend_pid",
      "pg_blocking_pids",
      "pg_safe_snapshot_blocking_pids",
      "pg_stat_*",
      "pg_cursor",
      "pg_prepared_statement",
    ],
  },
  {
    reason: "sleeps (the statement timeout bounds it, but it only ties up a connection)",
    patterns: ["pg_sleep*"],
  },
  {
    reason: "touches replication, WAL or logical decoding",
    patterns: ["pg_logical_*", "pg_replication_*", "pg_create_*", "pg_drop_replication_slot", "pg_walfile_name*", "pg_split_walfile_name", "pg_control_*"],
  },
  {
    reason: "reads or writes large objects or server files",
    patterns: ["lo_*", "loread", "lowrite", "pg_read*", "pg_ls_*", "pg_file_*"],
  },
  {
    // Transaction ids and snapshots disclose concurrent activity (§9.28.5 Transaction ID and Snapshot Information).
    reason: "discloses transaction ids or snapshots",
    patterns: ["txid_*", "pg_current_xact_id*", "pg_current_snapshot", "pg_snapshot_*", "pg_visible_in_snapshot", "pg_xact_*", "mxid_age"],
  },
  {
    // Object names, definitions, comments, privileges and existence of relations outside the tool's allowlist
    // (§9.27 System Information Functions). pg_input_is_valid and friends run any type's input function by the
    // type's name, including the reg* types that look objects up.
    reason: "looks up catalog objects by name or oid",
    patterns: [
      "pg_get_*",
      "has_*_privilege",
      "pg_has_role",
      "pg_*_is_visible",
      "to_reg*",
      "regclass",
      "obj_description",
      "col_description",
      "shobj_description",
      "pg_describe_object",
      "pg_identify_object*",
      "format_type",
      "oidvectortypes",
      "pg_available_extension*",
      "pg_extension_update_paths",
      "pg_config",
      "pg_sequence_*",
      "pg_event_trigger_*",
      "pg_is_other_temp_schema",
      "pg_my_temp_schema",
      "pg_tablespace_*",
      "pg_indexam_*",
      "pg_index_*",
      "pg_filenode_relation",
      "pg_relation_*",
      "pg_partition_*",
      "row_security_active",
      "satisfies_hash_partition",
      "pg_input_is_valid",
      "pg_input_error_info",
      "acl*",
      "makeaclitem",
      "fmgr_*",
      "postgresql_fdw_validator",
      "pg_trigger_depth",
    ],
  },
  {
    reason: "discloses server identity, addresses or uptime",
    patterns: ["version", "pg_postmaster_start_time", "pg_conf_load_time", "inet_client_*", "inet_server_*", "pg_numa_*"],
  },
];

const compiled = FUNCTION_DENYLIST.map((category) => ({
  reason: category.reason,
  pattern: new RegExp(`^(?:${category.patterns.map(globToRegExpSource).join("|")})$`),
}));

/** The denylist reason for a pg_catalog function name (as the parser emits it), or undefined when not denied. */
export function deniedFunctionReason(name: string): string | undefined {
  for (const entry of compiled) if (entry.pattern.test(name)) return entry.reason;
  return undefined;
}

function globToRegExpSource(glob: string): string {
  return glob
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
}
