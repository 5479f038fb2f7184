// Hostile and legitimate SQL for execute_sql (issue 4, docs/security.md), as data: the guard's unit tests run every case
// through the parser and checks, and the end-to-end suite can send the same cases through /mcp to the demo
// database (postgres/demo.sql) as the sql tier's role.
//
// expect:
//   refused          the guard refuses it with `rule`; nothing reaches the database;
//   allowed          the guard accepts it and, on the demo database, it runs and returns a result;
//   allowed_bounded  the guard accepts it; the tool's limits stop it (`bound` says which one).
// Every "allowed" and "allowed_bounded" statement is valid on the demo schema with the diagnostic role's grants.
import type { GuardPolicy, GuardRule } from "../../src/guard/types";

export type CorpusCategory =
  | "stacking_and_transactions"
  | "writable_cte"
  | "select_into"
  | "locking"
  | "side_effect_function"
  | "sql_in_a_string"
  | "role_and_setting_escape"
  | "catalog_snooping"
  | "forbidden_relation"
  | "parser_confusion"
  | "resource_exhaustion"
  | "legitimate";

export interface CorpusCase {
  name: string;
  category: CorpusCategory;
  sql: string;
  expect: "refused" | "allowed" | "allowed_bounded";
  /** For "refused": the rule the guard reports. */
  rule?: GuardRule;
  /** For "allowed_bounded": the limit that stops it (statement timeout, max_rows, max_bytes). */
  bound?: "timeout" | "rows" | "bytes";
  why: string;
}

/** The relations the demo's execute_sql tool may read: the sql tier role's SELECT grants (postgres/demo.sql). */
export const DEMO_SQL_POLICY: GuardPolicy = {
  allowedRelations: ["reporting.revenue_summary", "reporting.pipeline_coverage", "reporting.opportunities", "sales.accounts", "sales.opportunities", "sales.invoices"],
};

const refused = (category: CorpusCategory, name: string, rule: GuardRule, sql: string, why: string): CorpusCase => ({
  name,
  category,
  sql,
  expect: "refused",
  rule,
  why,
});
const allowed = (category: CorpusCategory, name: string, sql: string, why: string): CorpusCase => ({
  name,
  category,
  sql,
  expect: "allowed",
  why,
});
const bounded = (name: string, bound: "timeout" | "rows" | "bytes", sql: string, why: string): CorpusCase => ({
  name,
  category: "resource_exhaustion",
  sql,
  expect: "allowed_bounded",
  bound,
  why,
});

export const SQL_CORPUS: readonly CorpusCase[] = [
  // --- Statement stacking and transaction control -------------------------------------------------------------
  refused("stacking_and_transactions", "select then drop", "multiple_statements", "SELECT 1; DROP TABLE sales.accounts", "a second statement after the SELECT"),
  refused("stacking_and_transactions", "select then delete", "multiple_statements", "SELECT * FROM reporting.revenue_summary; DELETE FROM sales.invoices", "a DELETE stacked after an allowed query"),
  refused(
    "stacking_and_transactions",
    "commit and reopen read-write",
    "multiple_statements",
    "SELECT 1; COMMIT; BEGIN READ WRITE; UPDATE sales.opportunities SET stage = 'closed_won'",
    "ends the gateway's read-only transaction and starts a writable one",
  ),
  refused("stacking_and_transactions", "commit alone", "not_select", "COMMIT", "transaction control"),
  refused("stacking_and_transactions", "start read-write transaction", "not_select", "START TRANSACTION READ WRITE", "transaction control"),
  refused("stacking_and_transactions", "set transaction read write", "not_select", "SET TRANSACTION READ WRITE", "tries to make the read-only transaction writable"),
  refused("stacking_and_transactions", "do block", "not_select", "DO $$ BEGIN PERFORM pg_sleep(1); END $$", "anonymous PL/pgSQL block runs arbitrary code"),
  refused("stacking_and_transactions", "explain analyze", "not_select", "EXPLAIN ANALYZE SELECT * FROM sales.accounts", "EXPLAIN ANALYZE executes its statement and discloses plans; not a SELECT"),
  refused("stacking_and_transactions", "copy to stdout", "not_select", "COPY sales.accounts TO STDOUT", "COPY is not a query"),
  refused("stacking_and_transactions", "insert", "not_select", "INSERT INTO sales.accounts (id, name, industry, region, created_at) VALUES (999, 'x', 'x', 'NA', now())", "a write"),
  refused("stacking_and_transactions", "update", "not_select", "UPDATE sales.opportunities SET stage = 'closed_won'", "a write"),
  refused("stacking_and_transactions", "merge", "not_select", "MERGE INTO sales.opportunities o USING sales.accounts a ON o.account_id = a.id WHEN MATCHED THEN DELETE", "a write"),
  refused("stacking_and_transactions", "create temp table as", "not_select", "CREATE TEMP TABLE stash AS SELECT * FROM sales.accounts", "creates an object"),
  refused("stacking_and_transactions", "lock table", "not_select", "LOCK TABLE sales.accounts IN ACCESS EXCLUSIVE MODE", "blocks every other session using the table"),
  refused("stacking_and_transactions", "prepare", "not_select", "PREPARE p AS SELECT 1", "session state outside the statement"),

  // --- Writable CTEs ------------------------------------------------------------------------------------------
  refused("writable_cte", "delete in with", "data_modifying_cte", "WITH d AS (DELETE FROM sales.invoices RETURNING *) SELECT count(*) FROM d", "a SELECT whose WITH deletes rows"),
  refused("writable_cte", "update in with", "data_modifying_cte", "WITH u AS (UPDATE sales.opportunities SET stage = 'closed_won' RETURNING id) SELECT * FROM u", "a SELECT whose WITH updates rows"),
  refused(
    "writable_cte",
    "insert in with",
    "data_modifying_cte",
    "WITH i AS (INSERT INTO sales.accounts (id, name, industry, region, created_at) VALUES (999, 'x', 'x', 'NA', now()) RETURNING id) SELECT * FROM i",
    "a SELECT whose WITH inserts rows",
  ),
  refused(
    "writable_cte",
    "unreferenced delete in with",
    "data_modifying_cte",
    "WITH a AS (SELECT 1 AS x), b AS (DELETE FROM sales.invoices RETURNING 1) SELECT * FROM a",
    "data-modifying CTEs run even when nothing references them",
  ),
  refused(
    "writable_cte",
    "delete in with inside a subquery",
    "data_modifying_cte",
    "SELECT * FROM (WITH d AS (DELETE FROM sales.invoices RETURNING id) SELECT id FROM d) s",
    "the writable CTE hides one level down",
  ),
  refused(
    "writable_cte",
    "merge in with",
    "data_modifying_cte",
    "WITH m AS (MERGE INTO sales.opportunities o USING sales.accounts a ON o.account_id = a.id WHEN MATCHED THEN DELETE RETURNING o.id) SELECT * FROM m",
    "MERGE … RETURNING inside WITH (PostgreSQL 17+)",
  ),

  // --- SELECT INTO --------------------------------------------------------------------------------------------
  refused("select_into", "select into table", "select_into", "SELECT * INTO stolen FROM sales.accounts", "creates a table from the result"),
  refused("select_into", "select into temp", "select_into", "SELECT 1 AS x INTO TEMP t", "creates a temporary table"),
  refused("select_into", "create table as", "not_select", "CREATE TABLE stolen AS SELECT * FROM sales.accounts", "the CREATE TABLE AS spelling of SELECT INTO"),

  // --- Locking ------------------------------------------------------------------------------------------------
  refused("locking", "for update", "locking_clause", "SELECT * FROM sales.accounts FOR UPDATE", "row locks block writers"),
  refused("locking", "for share skip locked", "locking_clause", "SELECT * FROM sales.opportunities FOR SHARE SKIP LOCKED", "row locks"),
  refused("locking", "for key share in a subquery", "locking_clause", "SELECT id FROM (SELECT * FROM sales.accounts FOR KEY SHARE) s", "the locking clause hides in a subquery"),
  refused("locking", "for no key update nowait", "locking_clause", "SELECT * FROM sales.invoices FOR NO KEY UPDATE NOWAIT", "row locks"),

  // --- Side-effecting functions -------------------------------------------------------------------------------
  refused("side_effect_function", "pg_sleep", "function_denied", "SELECT pg_sleep(10)", "ties up a connection"),
  refused("side_effect_function", "schema-qualified pg_sleep", "function_denied", "SELECT pg_catalog.pg_sleep(10)", "the qualified spelling of the same function"),
  refused("side_effect_function", "quoted lower-case pg_sleep", "function_denied", 'SELECT "pg_sleep"(1)', "a quoted identifier in lower case is the same name"),
  refused(
    "side_effect_function",
    "quoted upper-case PG_SLEEP",
    "function_not_allowed",
    'SELECT "PG_SLEEP"(1)',
    'quoted identifiers keep their case: "PG_SLEEP" is another name, not a pg_catalog function',
  ),
  refused("side_effect_function", "unicode-escaped pg_sleep", "function_denied", 'SELECT U&"pg_sl\\0065ep"(1)', 'U&"…" escapes decode to pg_sleep'),
  refused("side_effect_function", "mixed-case unquoted pg_sleep", "function_denied", "sElEcT Pg_SlEeP(1)", "unquoted identifiers fold to lower case"),
  refused("side_effect_function", "pg_sleep_for in a cast", "function_denied", "SELECT (pg_sleep_for('5 minutes'))::text", "denied functions are found inside any expression"),
  refused("side_effect_function", "advisory lock", "function_denied", "SELECT pg_advisory_lock(1)", "a session-level lock outlives the statement"),
  refused("side_effect_function", "advisory xact lock", "function_denied", "SELECT pg_try_advisory_xact_lock(42)", "locks"),
  refused("side_effect_function", "terminate backend", "function_denied", "SELECT pg_terminate_backend(12345)", "kills a session of the same role (another caller's query)"),
  refused("side_effect_function", "cancel backend", "function_denied", "SELECT pg_cancel_backend(12345)", "cancels another caller's query"),
  refused("side_effect_function", "notify", "function_denied", "SELECT pg_notify('channel', 'payload')", "sends a message to listening sessions"),
  refused("side_effect_function", "large object import", "function_denied", "SELECT lo_import('/etc/passwd')", "reads a server file into a large object"),
  refused("side_effect_function", "large object from bytea", "function_denied", "SELECT lo_from_bytea(0, 'x')", "creates a large object"),
  refused("side_effect_function", "read server file", "function_denied", "SELECT pg_read_file('/etc/passwd')", "reads a server file"),
  refused("side_effect_function", "list server directory", "function_denied", "SELECT * FROM pg_ls_dir('.')", "lists a server directory"),
  refused("side_effect_function", "txid_current", "function_denied", "SELECT txid_current()", "assigns and discloses a transaction id"),
  refused("side_effect_function", "pg_current_xact_id", "function_denied", "SELECT pg_current_xact_id()", "assigns and discloses a transaction id"),
  refused("side_effect_function", "logical message", "function_denied", "SELECT pg_logical_emit_message(true, 'x', 'y')", "writes to the WAL"),
  refused("side_effect_function", "dblink", "function_denied", "SELECT * FROM dblink('host=203.0.113.1', 'SELECT 1') AS t(x int)", "connects out of the database"),
  refused("side_effect_function", "nextval", "function_not_allowed", "SELECT nextval('sales.accounts_id_seq')", "volatile: advances a sequence"),
  refused("side_effect_function", "random is volatile", "function_not_allowed", "SELECT random()", "volatile functions are not on the allowlist"),
  refused("side_effect_function", "user function in public", "function_not_allowed", "SELECT public.evil()", "only pg_catalog built-ins may be called"),
  refused("side_effect_function", "user function in sales", "function_not_allowed", "SELECT sales.recalculate(1)", "only pg_catalog built-ins may be called"),
  refused(
    "side_effect_function",
    "extension tablesample method",
    "function_not_allowed",
    "SELECT * FROM sales.accounts TABLESAMPLE system_rows(10)",
    "TABLESAMPLE methods other than SYSTEM and BERNOULLI come from extensions",
  ),
  refused("side_effect_function", "user-schema operator", "operator_not_allowed", "SELECT 1 OPERATOR(public.+) 1", "an operator can run any function; only pg_catalog operators may be named"),

  // --- SQL in a string ----------------------------------------------------------------------------------------
  refused(
    "sql_in_a_string",
    "query_to_xml reads secrets",
    "function_denied",
    "SELECT query_to_xml('SELECT * FROM secrets.api_tokens', true, false, '')",
    "the inner query is a string the guard cannot see",
  ),
  refused(
    "sql_in_a_string",
    "qualified query_to_xml with a delete",
    "function_denied",
    "SELECT pg_catalog.query_to_xml('DELETE FROM sales.invoices RETURNING 1', true, true, '')",
    "runs a write from a string",
  ),
  refused("sql_in_a_string", "table_to_xml by name", "function_denied", "SELECT table_to_xml('secrets.api_tokens', true, false, '')", "reads a table named in a string"),
  refused("sql_in_a_string", "schema_to_xml", "function_denied", "SELECT schema_to_xml('secrets', true, false, '')", "reads every table of a schema"),
  refused("sql_in_a_string", "database_to_xml", "function_denied", "SELECT database_to_xml(true, false, '')", "reads every table of the database"),
  refused("sql_in_a_string", "cursor_to_xml", "function_denied", "SELECT cursor_to_xml('c', 10, false, false, '')", "reads from a cursor"),
  refused("sql_in_a_string", "ts_stat", "function_denied", "SELECT * FROM ts_stat('SELECT to_tsvector(token) FROM secrets.api_tokens')", "ts_stat runs the query it is given"),
  refused(
    "sql_in_a_string",
    "ts_rewrite with a query",
    "function_denied",
    "SELECT ts_rewrite('a'::tsquery, 'SELECT token::tsquery, ''x''::tsquery FROM secrets.api_tokens')",
    "the two-argument ts_rewrite runs a query",
  ),
  refused("sql_in_a_string", "query_to_xml nested in xpath", "function_denied", "SELECT xpath('/row', query_to_xml('SELECT 1', true, false, ''))", "the denied call hides inside an allowed one"),

  // --- Role and setting escapes -------------------------------------------------------------------------------
  refused("role_and_setting_escape", "set_config role", "function_denied", "SELECT set_config('role', 'postgres', false)", "switches role for the rest of the session"),
  refused("role_and_setting_escape", "set_config search_path", "function_denied", "SELECT set_config('search_path', 'secrets, public', true)", "redirects unqualified names"),
  refused("role_and_setting_escape", "set_config statement_timeout", "function_denied", "SELECT set_config('statement_timeout', '0', false)", "removes the time limit"),
  refused("role_and_setting_escape", "set_config read-only off", "function_denied", "SELECT set_config('transaction_read_only', 'off', true)", "tries to make the transaction writable"),
  refused("role_and_setting_escape", "set role", "not_select", "SET ROLE postgres", "switches role"),
  refused("role_and_setting_escape", "set search_path", "not_select", "SET search_path = secrets, public", "redirects unqualified names"),
  refused("role_and_setting_escape", "set session authorization", "not_select", "SET SESSION AUTHORIZATION postgres", "switches the session user"),
  refused("role_and_setting_escape", "alter own role", "not_select", "ALTER ROLE CURRENT_USER SET statement_timeout = 0", "a role may change its own defaults"),
  refused("role_and_setting_escape", "current_setting", "function_denied", "SELECT current_setting('search_path')", "discloses server and session settings"),
  refused(
    "role_and_setting_escape",
    "unqualified relation via search_path",
    "unqualified_relation",
    "SELECT * FROM api_tokens",
    "an unqualified name resolves through search_path, which the guard does not trust",
  ),
  refused("role_and_setting_escape", "unqualified allowed table", "unqualified_relation", "SELECT * FROM accounts", "even an allowed table must be schema-qualified"),
  refused("role_and_setting_escape", "pg_temp shadowing", "catalog_relation", "SELECT * FROM pg_temp.accounts", "temporary schema"),
  allowed("role_and_setting_escape", "own identity", "SELECT current_user, session_user, current_database()", "the gateway role's own name is not a secret"),

  // --- Catalog snooping ---------------------------------------------------------------------------------------
  refused("catalog_snooping", "pg_authid qualified", "catalog_relation", "SELECT rolname, rolpassword FROM pg_catalog.pg_authid", "system catalog"),
  refused("catalog_snooping", "pg_class unqualified", "unqualified_relation", "SELECT relname FROM pg_class", "pg_catalog is searched first for unqualified names"),
  refused("catalog_snooping", "information_schema", "catalog_relation", "SELECT table_schema, table_name FROM information_schema.tables", "lists every relation"),
  refused("catalog_snooping", "pg_stat_activity", "unqualified_relation", "SELECT query FROM pg_stat_activity", "shows other callers' queries (same role)"),
  refused("catalog_snooping", "backend activity function", "function_denied", "SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() s", "the function behind pg_stat_activity"),
  refused("catalog_snooping", "regclass cast", "type_not_allowed", "SELECT 'secrets.api_tokens'::regclass", "the cast looks the relation up: it reveals whether it exists"),
  refused("catalog_snooping", "qualified regclass cast to oid", "type_not_allowed", "SELECT 'secrets.api_tokens'::pg_catalog.regclass::oid", "same lookup, qualified type name"),
  refused("catalog_snooping", "to_regclass", "function_denied", "SELECT to_regclass('secrets.api_tokens')", "existence probe"),
  refused("catalog_snooping", "has_table_privilege", "function_denied", "SELECT has_table_privilege('secrets.api_tokens', 'SELECT')", "privilege probe"),
  refused("catalog_snooping", "pg_get_viewdef", "function_denied", "SELECT pg_get_viewdef('reporting.revenue_summary')", "discloses view definitions"),
  refused("catalog_snooping", "format_type of a row type oid", "function_denied", "SELECT format_type(16400, NULL)", "maps oids to names, including relations' row types"),
  refused("catalog_snooping", "pg_input_is_valid with regclass", "function_denied", "SELECT pg_input_is_valid('secrets.api_tokens', 'regclass')", "runs a lookup type's input function by name"),
  refused("catalog_snooping", "version", "function_denied", "SELECT version()", "server reconnaissance"),
  refused("catalog_snooping", "system columns", "system_column", "SELECT tableoid, xmin, * FROM sales.accounts", "transaction ids and relation oids"),
  refused("catalog_snooping", "row type of a secret table", "type_not_allowed", "SELECT NULL::secrets.api_tokens", "a cast to a table's row type reveals that it exists"),
  refused("catalog_snooping", "catalog row type", "type_not_allowed", "SELECT jsonb_populate_record(NULL::pg_catalog.pg_authid, '{}')", "catalog row types are not built-in scalar types"),
  refused("catalog_snooping", "aclitem input", "type_not_allowed", "SELECT 'x=r/postgres'::aclitem", "aclitem input looks roles up by name"),

  // --- Forbidden relations ------------------------------------------------------------------------------------
  refused("forbidden_relation", "secrets table", "relation_not_allowed", "SELECT * FROM secrets.api_tokens", "not on the tool's allowlist"),
  refused("forbidden_relation", "pii table", "relation_not_allowed", "SELECT full_name, email FROM sales.contacts", "PII, not on the allowlist"),
  refused("forbidden_relation", "quotas behind a view", "relation_not_allowed", "SELECT * FROM sales.quotas", "only reachable through reporting.pipeline_coverage"),
  refused(
    "forbidden_relation",
    "lateral join to pii",
    "relation_not_allowed",
    "SELECT * FROM reporting.revenue_summary r CROSS JOIN LATERAL (SELECT email FROM sales.contacts) c",
    "hidden in a LATERAL subquery",
  ),
  refused("forbidden_relation", "scalar subquery", "relation_not_allowed", "SELECT (SELECT token FROM secrets.api_tokens LIMIT 1)", "hidden in a scalar subquery"),
  refused("forbidden_relation", "exists subquery", "relation_not_allowed", "SELECT * FROM sales.accounts WHERE EXISTS (SELECT 1 FROM secrets.api_tokens)", "hidden in WHERE"),
  refused("forbidden_relation", "inside a cte", "relation_not_allowed", "WITH t AS (SELECT * FROM secrets.api_tokens) SELECT * FROM t", "hidden in a CTE"),
  refused("forbidden_relation", "quoted names", "relation_not_allowed", 'SELECT * FROM "secrets"."api_tokens"', "quoting does not change the name"),
  refused("forbidden_relation", "upper-case unquoted names", "relation_not_allowed", "SELECT * FROM SECRETS.API_TOKENS", "folded to secrets.api_tokens"),
  refused("forbidden_relation", "unicode-escaped schema", "relation_not_allowed", 'SELECT * FROM U&"\\0073ales".contacts', "decodes to sales.contacts"),
  refused("forbidden_relation", "database-qualified name", "relation_not_allowed", "SELECT * FROM postgres.sales.accounts", "three-part names are refused"),
  refused(
    "forbidden_relation",
    "union with secrets",
    "relation_not_allowed",
    "SELECT id, name, industry, region, created_at FROM sales.accounts UNION ALL SELECT id, service, token, 'x', created_at FROM secrets.api_tokens",
    "hidden in a set operation",
  ),
  refused("forbidden_relation", "table command on secrets", "relation_not_allowed", "TABLE secrets.api_tokens", "TABLE x is SELECT * FROM x"),
  refused(
    "forbidden_relation",
    "later sibling cte is not in scope",
    "unqualified_relation",
    "WITH a AS (SELECT * FROM api_tokens), api_tokens AS (SELECT 1 AS x) SELECT * FROM a",
    "without RECURSIVE a CTE cannot see later ones: api_tokens in a would be a real table",
  ),
  refused(
    "forbidden_relation",
    "non-recursive self reference",
    "unqualified_relation",
    "WITH api_tokens AS (SELECT * FROM api_tokens) SELECT * FROM api_tokens",
    "without RECURSIVE the inner api_tokens is a real table",
  ),
  refused("forbidden_relation", "cte used outside its scope", "unqualified_relation", "SELECT * FROM (WITH t AS (SELECT 1 AS x) SELECT * FROM t) s, t", "a CTE is visible only within its own query"),

  // --- Parser confusion ---------------------------------------------------------------------------------------
  allowed(
    "parser_confusion",
    "nested block comment hides a delete",
    "SELECT 1 AS x /* outer /* inner */ still a comment; DELETE FROM sales.invoices; */",
    "block comments nest in PostgreSQL: the DELETE is inside the comment for parser and server alike",
  ),
  refused("parser_confusion", "unbalanced nested comment", "parse_error", "SELECT 1 /* /* */ ; DELETE FROM sales.invoices", "the inner /* is still open: the rest is an unterminated comment"),
  allowed("parser_confusion", "line comment hides a delete", "SELECT 1 AS x -- ; DELETE FROM sales.invoices", "the rest of the line is a comment"),
  refused("parser_confusion", "line comment then newline", "multiple_statements", "SELECT 1 --\n; DELETE FROM sales.invoices", "the comment ends at the newline"),
  allowed("parser_confusion", "dollar quote hides a delete", "SELECT $$; DELETE FROM sales.invoices; $$ AS s", "a dollar-quoted string literal"),
  allowed("parser_confusion", "tagged dollar quote holding another tag", "SELECT $a$ $b$; DELETE FROM sales.invoices; $b$ $a$ AS s", "$b$ is text inside the $a$ string"),
  allowed("parser_confusion", "escaped quote in an E-string", "SELECT E'\\'; DELETE FROM sales.invoices; --' AS s", "in E'…' the backslash escapes the quote, so the string runs to the last quote"),
  allowed(
    "parser_confusion",
    "backslash in a standard string",
    "SELECT 'x\\', '; DELETE FROM sales.invoices; --' AS s",
    "with standard_conforming_strings on (the default) 'x\\' ends at the second quote: two string columns. With it off the server would read a DELETE; the gateway must keep it on",
  ),
  allowed("parser_confusion", "unicode escape of a quote in a string", "SELECT U&'\\0027; DELETE FROM sales.invoices; --' AS s", "U&'\\0027' is a quote character inside the string, not its end"),
  refused("parser_confusion", "comment splitting an identifier", "parse_error", "SELECT pg_/**/sleep(1)", "a comment separates tokens; it never joins them"),
  refused("parser_confusion", "comments around a denied call", "function_denied", "SELECT/**/pg_sleep/**/(1)", "comments are whitespace"),
  refused("parser_confusion", "quoted pg_catalog qualifier", "function_denied", 'SELECT "pg_catalog" . "pg_sleep" (1)', "the same function"),
  refused("parser_confusion", "qualified upper-case quoted name", "function_not_allowed", 'SELECT "pg_catalog"."PG_SLEEP"(1)', "a different, nonexistent function"),
  refused("parser_confusion", "no-break space", "parse_error", "SELECT\u00a0pg_sleep(1)", "U+00A0 is an identifier character to PostgreSQL, not whitespace"),
  refused("parser_confusion", "NUL byte", "parse_error", "SELECT 1\u0000; DELETE FROM sales.invoices", "C strings end at NUL: the parser would never see the DELETE"),
  refused("parser_confusion", "empty", "no_statement", "  -- nothing here\n", "comments only"),
  refused("parser_confusion", "garbage", "parse_error", "SELEC * FROM sales.accounts", "not SQL"),
  refused(
    "parser_confusion",
    "parameter reference",
    "parameter_reference",
    "SELECT * FROM sales.accounts LIMIT $1",
    "execute_sql has no parameters: $1 could only bind to a value the gateway adds (its row limit)",
  ),
  allowed("parser_confusion", "keywords as quoted identifiers", 'SELECT "select"."from" FROM (SELECT 1 AS "from") AS "select"', "quoted keywords are ordinary names"),

  // --- Resource exhaustion ------------------------------------------------------------------------------------
  bounded(
    "cartesian product",
    "timeout",
    "SELECT count(*) FROM sales.opportunities a, sales.opportunities b, sales.opportunities c, sales.opportunities d",
    "160^4 rows to count: the statement timeout ends it",
  ),
  bounded("unbounded recursion", "timeout", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r", "never terminates on its own"),
  refused(
    "resource_exhaustion",
    "huge series",
    "generated_size",
    "SELECT g FROM generate_series(1, 1000000000) AS g",
    "a billion rows materialised before the outer LIMIT sees one; over the generated-volume ceiling",
  ),
  bounded(
    "many rows",
    "rows",
    "SELECT o.id, a.id AS account, o.amount FROM sales.opportunities o CROSS JOIN sales.accounts a",
    "6,400 rows: the gateway's LIMIT max_rows + 1 stops the join early and marks the result truncated",
  ),
  refused("resource_exhaustion", "huge single value", "generated_size", "SELECT repeat('x', 50000000) AS blob", "one 50 MB value, over the generated-volume ceiling"),
  bounded("large single value", "bytes", "SELECT repeat('x', 1000000) AS blob", "one 1 MB value, under the generated-volume ceiling: it must be cut by max_bytes, not returned whole"),
  bounded("json_agg of a view squared", "bytes", "SELECT json_agg(t) FROM reporting.opportunities t CROSS JOIN reporting.opportunities u", "one multi-megabyte JSON value"),
  refused(
    "resource_exhaustion",
    "sort of a huge series",
    "generated_size",
    "SELECT g FROM generate_series(1, 200000000) AS g ORDER BY md5(g::text) LIMIT 1",
    "the sort must read every row before the first comes out; the series is over the ceiling",
  ),
  refused(
    "resource_exhaustion",
    "nested repeat (issue 16)",
    "generated_size",
    "SELECT length(repeat(repeat('x',1000000),1000)) + length(repeat(repeat('y',1000000),1000)) + length(repeat(repeat('z',1000000),1000))",
    "three 1 GB strings built while planning: 2 GB of backend memory before the timeout",
  ),
  refused(
    "resource_exhaustion",
    "repeat with a computed count",
    "generated_size",
    "SELECT repeat('x', max(amount)::int) FROM sales.opportunities",
    "the count is not a literal, so its size cannot be checked",
  ),
  refused("resource_exhaustion", "repeat of a column", "generated_size", "SELECT repeat(name, 1000) FROM sales.accounts", "the repeated string is not a literal"),
  refused(
    "resource_exhaustion",
    "many repeats add up",
    "generated_size",
    `SELECT ${Array.from({ length: 5 }, () => "length(repeat('x', 300000))").join(" + ")}`,
    "each call is under the ceiling, their sum is not",
  ),
  refused("resource_exhaustion", "lpad to a computed length", "generated_size", "SELECT lpad('', (SELECT count(*)::int * 1000000 FROM sales.accounts), 'x')", "the length is not a literal"),
  refused("resource_exhaustion", "rpad huge", "generated_size", "SELECT rpad('x', 500000000, 'y')", "500 million characters"),
  refused("resource_exhaustion", "format width from an argument", "generated_size", "SELECT format('%*s', 100000000, 'x')", "a * width takes its size from an argument"),
  refused("resource_exhaustion", "format huge width", "generated_size", "SELECT format('%100000000s', 'x')", "a 100 million character field"),
  refused("resource_exhaustion", "array_fill huge", "generated_size", "SELECT cardinality(array_fill(0, ARRAY[100000, 100000]))", "ten billion elements"),
  refused(
    "resource_exhaustion",
    "array_fill of a built value",
    "generated_size",
    "SELECT array_fill(repeat('x', 1000), ARRAY[1000])",
    "the filled value is not a literal: each element is a copy of it",
  ),
  refused("resource_exhaustion", "char(n) padding", "generated_size", "SELECT octet_length(''::char(10000000)), octet_length(''::char(10000000))", "a cast to char(n) pads to n characters"),
  refused(
    "resource_exhaustion",
    "timestamp series by the second",
    "generated_size",
    "SELECT count(*) FROM generate_series(timestamp '2000-01-01', timestamp '2100-01-01', interval '1 second')",
    "three billion rows",
  ),
  refused(
    "resource_exhaustion",
    "series times built values",
    "generated_size",
    "SELECT array_agg(repeat('x', 100000)) FROM generate_series(1, 100000)",
    "each built value is kept for every row: ten billion characters",
  ),
  refused("resource_exhaustion", "cross join of series", "generated_size", "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b", "ten billion rows"),
  refused(
    "resource_exhaustion",
    "series to a computed end",
    "generated_size",
    "SELECT count(*) FROM generate_series(1, (SELECT max(amount)::int FROM sales.opportunities))",
    "the stop is not a literal",
  ),
  refused("resource_exhaustion", "variadic series", "generated_size", "SELECT repeat(VARIADIC ARRAY['x'])", "arguments passed as an array cannot be checked"),
  refused("resource_exhaustion", "deeply nested expression", "too_complex", `SELECT 1${" + 1".repeat(3000)}`, "thousands of chained operators nest the tree deeper than the guard walks"),
  refused("resource_exhaustion", "parser stack exhaustion", "parse_error", `SELECT ${"(".repeat(20000)}1${")".repeat(20000)}`, "the parser's own stack limit"),

  // --- Legitimate analytics -----------------------------------------------------------------------------------
  allowed("legitimate", "view read", "SELECT region, quarter, invoiced FROM reporting.revenue_summary ORDER BY region, quarter", "a plain read of an approved view"),
  allowed("legitimate", "rank window", "SELECT owner_email, name, amount, rank() OVER (PARTITION BY owner_email ORDER BY amount DESC) AS rnk FROM sales.opportunities", "window function"),
  allowed(
    "legitimate",
    "running total",
    "SELECT close_date, amount, sum(amount) OVER (ORDER BY close_date, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM sales.opportunities WHERE stage = 'closed_won'",
    "window frame",
  ),
  allowed(
    "legitimate",
    "within group",
    "SELECT stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) AS median_amount, mode() WITHIN GROUP (ORDER BY owner_email) AS top_owner FROM sales.opportunities GROUP BY stage",
    "ordered-set aggregates",
  ),
  allowed(
    "legitimate",
    "filter",
    "SELECT a.region, count(*) FILTER (WHERE i.status = 'paid') AS paid, count(*) FILTER (WHERE i.status = 'overdue') AS overdue FROM sales.invoices i JOIN sales.accounts a ON a.id = i.account_id GROUP BY a.region",
    "aggregate FILTER",
  ),
  allowed(
    "legitimate",
    "grouping sets",
    "SELECT a.region, a.industry, sum(o.amount) AS total, grouping(a.region, a.industry) AS g FROM sales.opportunities o JOIN sales.accounts a ON a.id = o.account_id GROUP BY GROUPING SETS ((a.region), (a.industry), ())",
    "GROUPING SETS and grouping()",
  ),
  allowed("legitimate", "rollup", "SELECT a.region, o.stage, count(*) FROM sales.opportunities o JOIN sales.accounts a ON a.id = o.account_id GROUP BY ROLLUP (a.region, o.stage)", "ROLLUP"),
  allowed(
    "legitimate",
    "nested ctes",
    "WITH won AS (SELECT account_id, sum(amount) AS total FROM sales.opportunities WHERE stage = 'closed_won' GROUP BY account_id), ranked AS (SELECT w.*, dense_rank() OVER (ORDER BY total DESC) AS r FROM won w) SELECT a.name, ranked.total FROM ranked JOIN sales.accounts a ON a.id = ranked.account_id WHERE ranked.r <= 5",
    "a CTE reading an earlier CTE",
  ),
  allowed(
    "legitimate",
    "inner with reads outer cte",
    "WITH o AS (SELECT * FROM sales.opportunities) SELECT * FROM (WITH big AS (SELECT * FROM o WHERE amount > 50000) SELECT count(*) AS n FROM big) s",
    "nested WITH sees the outer CTE",
  ),
  allowed("legitimate", "table command", "TABLE reporting.pipeline_coverage", "TABLE x on an allowed relation"),
  allowed(
    "legitimate",
    "bounded recursive cte",
    "WITH RECURSIVE months(m) AS (SELECT date '2025-01-01' UNION ALL SELECT (m + interval '1 month')::date FROM months WHERE m < date '2025-12-01') SELECT m, (SELECT count(*) FROM sales.invoices i WHERE date_trunc('month', i.issued_on) = m) AS invoices FROM months",
    "recursive CTE with a stop condition",
  ),
  allowed(
    "legitimate",
    "lateral top-1",
    "SELECT a.name, top.name AS deal, top.amount FROM sales.accounts a CROSS JOIN LATERAL (SELECT o.name, o.amount FROM sales.opportunities o WHERE o.account_id = a.id ORDER BY o.amount DESC LIMIT 1) top",
    "LATERAL",
  ),
  allowed(
    "legitimate",
    "values join",
    "SELECT v.stage, v.weight, count(o.id) FROM (VALUES ('prospecting', 0.1), ('negotiation', 0.7)) AS v(stage, weight) LEFT JOIN sales.opportunities o ON o.stage = v.stage GROUP BY v.stage, v.weight",
    "VALUES list",
  ),
  allowed(
    "legitimate",
    "dates and casts",
    "SELECT date_trunc('quarter', close_date)::date AS q, extract(year FROM close_date) AS y, to_char(close_date, 'YYYY-MM') AS ym, sum(amount)::numeric(14, 2) AS total FROM sales.opportunities GROUP BY 1, 2, 3 ORDER BY 1",
    "date functions, SQL-syntax EXTRACT, typed casts",
  ),
  allowed("legitimate", "jsonb output", "SELECT jsonb_build_object('region', region, 'invoiced', invoiced) AS doc FROM reporting.revenue_summary WHERE quarter = '2025-Q1'", "JSON construction"),
  allowed("legitimate", "lag", "SELECT region, quarter, invoiced, invoiced - lag(invoiced) OVER (PARTITION BY region ORDER BY quarter) AS delta FROM reporting.revenue_summary", "lag()"),
  allowed("legitimate", "anti-join", "SELECT a.name FROM sales.accounts a WHERE NOT EXISTS (SELECT 1 FROM sales.invoices i WHERE i.account_id = a.id AND i.status = 'overdue')", "NOT EXISTS"),
  allowed(
    "legitimate",
    "parenthesised intersect",
    "(SELECT account_id FROM sales.opportunities WHERE stage = 'closed_won') INTERSECT (SELECT account_id FROM sales.invoices WHERE status = 'paid') ORDER BY 1",
    "set operation over parenthesised SELECTs",
  ),
  allowed(
    "legitimate",
    "case coalesce nullif",
    "SELECT upper(left(name, 3)) AS code, coalesce(nullif(industry, ''), 'unknown') AS industry, CASE WHEN region IN ('NA', 'LATAM') THEN 'Americas' ELSE region END AS area FROM sales.accounts",
    "conditional expressions and string functions",
  ),
  allowed("legitimate", "distinct on", "SELECT DISTINCT ON (account_id) account_id, name, amount FROM sales.opportunities ORDER BY account_id, amount DESC", "DISTINCT ON"),
  allowed(
    "legitimate",
    "row constructor and ordered array_agg",
    "SELECT ROW(o.stage, count(*)) AS r, array_agg(o.amount ORDER BY o.amount) AS amounts FROM sales.opportunities o GROUP BY o.stage",
    "ROW(...) and aggregate ORDER BY",
  ),
  allowed("legitimate", "tablesample bernoulli", "SELECT count(*) FROM sales.opportunities TABLESAMPLE BERNOULLI (50) REPEATABLE (42)", "built-in sampling method"),
  allowed("legitimate", "cte named like a catalog", "WITH pg_class AS (SELECT 1 AS relname) SELECT relname FROM pg_class", "an unqualified name that is a CTE in scope is the CTE"),
  allowed(
    "legitimate",
    "monthly series join",
    "SELECT d::date AS month, count(o.id) AS closing FROM generate_series(date '2026-01-01', date '2026-06-30', interval '1 month') AS d LEFT JOIN sales.opportunities o ON date_trunc('month', o.close_date) = d GROUP BY d ORDER BY d",
    "set-returning function in FROM",
  ),
  allowed(
    "legitimate",
    "statistics",
    "SELECT stddev_samp(amount) AS sd, corr(amount, extract(epoch FROM close_date)) AS c, regr_slope(amount, extract(epoch FROM close_date)) AS slope FROM sales.opportunities",
    "statistical aggregates",
  ),
  allowed("legitimate", "now is stable", "SELECT now() - max(created_at) AS since_last_account FROM sales.accounts", "STABLE functions are allowed"),
  allowed("legitimate", "pattern matching", "SELECT count(*) FROM reporting.opportunities WHERE owner_email LIKE '%@example.com' AND account_name ~* 'labs'", "LIKE and regular expressions"),
  allowed("legitimate", "json_table", "SELECT jt.* FROM JSON_TABLE('[{\"a\": 1}, {\"a\": 2}]'::jsonb, '$[*]' COLUMNS (a int PATH '$.a')) AS jt", "SQL/JSON table function"),
  allowed(
    "legitimate",
    "zero-padded codes",
    "SELECT lpad(id::text, 5, '0') AS code, rpad(name, 20, '.') AS label, format('%-12s|%8s', region, industry) AS line FROM sales.accounts",
    "padding to a literal width",
  ),
  allowed("legitimate", "separator and small fill", "SELECT repeat('-', 40) AS rule, array_fill(0, ARRAY[12]) AS months, ''::char(3) AS blank", "small literal sizes"),
  allowed(
    "legitimate",
    "daily series for a year",
    "SELECT d::date AS day, count(i.id) AS issued FROM generate_series(timestamp '2025-01-01', timestamp '2025-12-31', interval '1 day') AS d LEFT JOIN sales.invoices i ON i.issued_on = d::date GROUP BY d ORDER BY d",
    "365 rows from literal dates and step",
  ),
  allowed(
    "legitimate",
    "pg_typeof and regconfig",
    "SELECT pg_typeof(amount), to_tsvector('english'::regconfig, name) FROM sales.opportunities LIMIT 3",
    "pg_typeof and text-search configuration names are harmless",
  ),
];
