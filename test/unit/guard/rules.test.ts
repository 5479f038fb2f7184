// The guard's checks on parse trees from libpg-query's own Node API, and on hand-built trees for constructs the
// grammar cannot produce today (to prove the walk is generic, not a list of known node types).
import { parse } from "libpg-query";
import { describe, expect, it } from "vitest";
import { checkSelect, MAX_TREE_DEPTH } from "../../../src/guard/rules";
import type { GuardPolicy, GuardResult, ParseTree } from "../../../src/guard/types";

const policy: GuardPolicy = { allowedRelations: ["sales.accounts", "sales.opportunities", "reporting.revenue_summary"] };

async function check(sql: string, with_: GuardPolicy = policy): Promise<GuardResult> {
  return checkSelect(await parse(sql), with_);
}

/** A one-statement tree whose SELECT list holds `value`. */
function selecting(value: unknown): ParseTree {
  return { version: 180004, stmts: [{ stmt: { SelectStmt: { targetList: [{ ResTarget: { val: value } }], op: "SETOP_NONE" } } }] };
}

const secretRangeVar = { schemaname: "secrets", relname: "api_tokens", inh: true, relpersistence: "p" };

describe("relations", () => {
  it("lists the allowlisted relations read at every level, sorted and distinct, without CTEs", async () => {
    const result = await check(
      "WITH t AS (SELECT * FROM sales.opportunities) SELECT * FROM t JOIN sales.accounts a ON true " + "WHERE EXISTS (SELECT 1 FROM sales.accounts) AND a.id IN (SELECT account_id FROM t)",
    );
    expect(result).toEqual({ ok: true, relations: ["sales.accounts", "sales.opportunities"] });
  });

  it("refuses system schemas even when the policy lists them", async () => {
    const generous = { allowedRelations: ["pg_catalog.pg_class", "information_schema.tables", "pg_toast.x"] };
    expect(await check("SELECT * FROM pg_catalog.pg_class", generous)).toMatchObject({ ok: false, rule: "catalog_relation" });
    expect(await check("SELECT * FROM information_schema.tables", generous)).toMatchObject({ ok: false, rule: "catalog_relation" });
    expect(await check("SELECT * FROM pg_toast.x", generous)).toMatchObject({ ok: false, rule: "catalog_relation" });
  });

  it("compares names exactly as the server resolves them", async () => {
    expect(await check('SELECT * FROM "Sales".accounts')).toMatchObject({ ok: false, rule: "relation_not_allowed" });
    expect(await check("SELECT * FROM Sales.ACCOUNTS")).toEqual({ ok: true, relations: ["sales.accounts"] });
    expect(await check("SELECT 1", { allowedRelations: [] })).toEqual({ ok: true, relations: [] });
    expect(await check("SELECT * FROM sales.accounts", { allowedRelations: [] })).toMatchObject({ ok: false, rule: "relation_not_allowed" });
  });

  it("cannot be matched through a dot inside a quoted name", async () => {
    const dotted = { allowedRelations: ["a.b.c"] };
    expect(await check('SELECT * FROM "a.b".c', dotted)).toMatchObject({ ok: false, rule: "relation_not_allowed" });
    expect(await check('SELECT * FROM a."b.c"', dotted)).toMatchObject({ ok: false, rule: "relation_not_allowed" });
  });
});

describe("CTE scope (PostgreSQL docs §7.8)", () => {
  it("lets every CTE of a WITH RECURSIVE list see every other, including later ones", async () => {
    expect(await check("WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1 AS x) SELECT * FROM a")).toEqual({ ok: true, relations: [] });
  });

  it("lets a plain CTE see only the CTEs before it", async () => {
    expect(await check("WITH b AS (SELECT 1 AS x), a AS (SELECT * FROM b) SELECT * FROM a")).toEqual({ ok: true, relations: [] });
    expect(await check("WITH a AS (SELECT * FROM b), b AS (SELECT 1 AS x) SELECT * FROM a")).toMatchObject({ ok: false, rule: "unqualified_relation" });
  });

  it("shares a top-level WITH with both branches of a set operation, but not a branch's own WITH", async () => {
    expect(await check("WITH t AS (SELECT 1 AS x) SELECT * FROM t UNION SELECT * FROM t")).toEqual({ ok: true, relations: [] });
    expect(await check("(WITH t AS (SELECT 1 AS x) SELECT * FROM t) UNION (SELECT 2)")).toEqual({ ok: true, relations: [] });
    expect(await check("(WITH t AS (SELECT 1 AS x) SELECT * FROM t) UNION (SELECT * FROM t)")).toMatchObject({ ok: false, rule: "unqualified_relation" });
  });

  it("ends an inner WITH's scope with its query", async () => {
    expect(await check("WITH t AS (SELECT 1 AS x) SELECT * FROM (WITH u AS (SELECT 2 AS y) SELECT * FROM u, t) s")).toEqual({ ok: true, relations: [] });
    expect(await check("SELECT * FROM (WITH u AS (SELECT 2 AS y) SELECT * FROM u) s WHERE EXISTS (SELECT 1 FROM u)")).toMatchObject({ ok: false, rule: "unqualified_relation" });
  });

  it("treats a schema-qualified name as the real relation even when a CTE has the same name", async () => {
    expect(await check("WITH api_tokens AS (SELECT 1 AS x) SELECT * FROM secrets.api_tokens")).toMatchObject({ ok: false, rule: "relation_not_allowed" });
  });
});

describe("functions, types and operators", () => {
  it("accepts the built-ins the grammar itself emits for SQL-standard syntax", async () => {
    const sql =
      "SELECT EXTRACT(year FROM now()), SUBSTRING('abc' FROM 2 FOR 1), TRIM(BOTH 'x' FROM 'xax'), POSITION('b' IN 'abc'), " +
      "OVERLAY('abc' PLACING 'z' FROM 2), now() AT TIME ZONE 'UTC', COLLATION FOR ('a'), NORMALIZE('a'), 'a' IS NORMALIZED, " +
      "SYSTEM_USER, XMLEXISTS('//a' PASSING XMLPARSE(DOCUMENT '<a/>')), (now(), now()) OVERLAPS (now(), now()), 'a' LIKE 'a' ESCAPE '!', " +
      "'a' SIMILAR TO 'a', CURRENT_DATE, LOCALTIMESTAMP, CURRENT_USER, COALESCE(NULL, 1), GREATEST(1, 2), NULLIF(1, 2)";
    expect(await check(sql)).toEqual({ ok: true, relations: [] });
  });

  it("accepts pg_catalog-qualified built-ins and refuses any other qualification", async () => {
    expect(await check("SELECT pg_catalog.count(*) FROM sales.accounts")).toMatchObject({ ok: true });
    expect(await check('SELECT "PG_CATALOG".count(*) FROM sales.accounts')).toMatchObject({ ok: false, rule: "function_not_allowed" });
    expect(await check("SELECT postgres.pg_catalog.count(*) FROM sales.accounts")).toMatchObject({ ok: false, rule: "function_not_allowed" });
  });

  it("reports the denylist before the allowlist, so the reason is named", async () => {
    expect(await check("SELECT set_config('role', 'x', true)")).toEqual({
      ok: false,
      rule: "function_denied",
      message: "function_denied: function set_config is refused: it reads or changes server and session settings",
    });
  });

  it("allows pg_catalog types, arrays of them and typmods; refuses others", async () => {
    expect(await check("SELECT '1'::pg_catalog.int4, '{1}'::int[], 1.5::numeric(10, 2), 'x'::varchar(3), 'a'::\"char\"")).toMatchObject({ ok: true });
    expect(await check("SELECT 'x'::public.text")).toMatchObject({ ok: false, rule: "type_not_allowed" });
    expect(await check("SELECT 'x'::\"Text\"")).toMatchObject({ ok: false, rule: "type_not_allowed" });
    expect(await check("SELECT '{}'::regclass[]")).toMatchObject({ ok: false, rule: "type_not_allowed" });
    expect(await check("SELECT 'x'::regrole")).toMatchObject({ ok: false, rule: "type_not_allowed" });
    expect(await check("SELECT CAST('1' AS regproc)")).toMatchObject({ ok: false, rule: "type_not_allowed" });
  });

  it("checks types in column definition lists of record-returning functions", async () => {
    expect(await check("SELECT * FROM json_to_record('{}') AS t(a int, b text)")).toMatchObject({ ok: true });
    expect(await check("SELECT * FROM json_to_record('{}') AS t(a regclass)")).toMatchObject({ ok: false, rule: "type_not_allowed" });
  });

  it("allows pg_catalog operators named explicitly, wherever an operator can be named", async () => {
    expect(await check("SELECT 1 OPERATOR(pg_catalog.+) 1")).toEqual({ ok: true, relations: [] });
    expect(await check("SELECT 1 OPERATOR(sales.+) 1")).toMatchObject({ ok: false, rule: "operator_not_allowed" });
    expect(await check("SELECT 1 AS x ORDER BY 1 USING OPERATOR(pg_catalog.<)")).toEqual({ ok: true, relations: [] });
    expect(await check("SELECT 1 AS x ORDER BY 1 USING OPERATOR(public.<)")).toMatchObject({ ok: false, rule: "operator_not_allowed" });
    expect(await check("SELECT 1 WHERE 1 OPERATOR(pg_catalog.=) ANY (SELECT 1)")).toEqual({ ok: true, relations: [] });
    expect(await check("SELECT 1 WHERE 1 OPERATOR(public.=) ANY (SELECT 1)")).toMatchObject({ ok: false, rule: "operator_not_allowed" });
  });

  it("refuses $n parameter references", async () => {
    expect(await check("SELECT * FROM sales.accounts WHERE id = $1")).toMatchObject({ ok: false, rule: "parameter_reference" });
  });

  it("refuses each system column, qualified or not", async () => {
    for (const column of ["ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"]) {
      expect(await check(`SELECT a.${column} FROM sales.accounts a`)).toMatchObject({ ok: false, rule: "system_column" });
    }
    expect(await check("SELECT a.id, a.name FROM sales.accounts a")).toMatchObject({ ok: true });
  });
});

describe("messages", () => {
  it("start with the rule and name the object, quoted as SQL would quote it, control characters escaped", async () => {
    expect(await check('SELECT "PG_SLEEP"(1)')).toEqual({
      ok: false,
      rule: "function_not_allowed",
      message: 'function_not_allowed: function "PG_SLEEP" is not on the allowlist of read-only built-in functions',
    });
    const escaped = await check('SELECT * FROM sales.U&"evil\\000Aname"');
    expect(escaped).toMatchObject({ ok: false, rule: "relation_not_allowed" });
    if (!escaped.ok) expect(escaped.message).toBe('relation_not_allowed: sales."evil\\u000aname" is not a relation this tool may read');
  });
});

describe("the walk is generic", () => {
  it("finds a relation inside a node type it has never heard of", () => {
    const tree = selecting({ FutureExpr: { payload: [{ RangeVar: secretRangeVar }] } });
    expect(checkSelect(tree, policy)).toMatchObject({ ok: false, rule: "relation_not_allowed" });
  });

  it("recognises unwrapped relations, function calls and type names by shape under unknown fields", () => {
    expect(checkSelect(selecting({ FutureExpr: { target: secretRangeVar } }), policy)).toMatchObject({ ok: false, rule: "relation_not_allowed" });
    const call = { funcname: [{ String: { sval: "pg_sleep" } }], args: [] };
    expect(checkSelect(selecting({ FutureExpr: { callee: call } }), policy)).toMatchObject({ ok: false, rule: "function_denied" });
    const type = { names: [{ String: { sval: "regclass" } }], typemod: -1 };
    expect(checkSelect(selecting({ FutureExpr: { as: type } }), policy)).toMatchObject({ ok: false, rule: "type_not_allowed" });
  });

  it("refuses any statement nested anywhere, and names data-modifying ones", () => {
    expect(checkSelect(selecting({ FutureExpr: { inner: { VacuumStmt: {} } } }), policy)).toMatchObject({ ok: false, rule: "not_select" });
    expect(checkSelect(selecting({ FutureExpr: { inner: { DeleteStmt: { relation: secretRangeVar } } } }), policy)).toMatchObject({
      ok: false,
      rule: "data_modifying_cte",
    });
  });

  it("refuses INTO and locking clauses wherever they appear", () => {
    const into = { SelectStmt: { op: "SETOP_UNION", larg: { intoClause: { rel: secretRangeVar }, op: "SETOP_NONE" }, rarg: { op: "SETOP_NONE" } } };
    expect(checkSelect({ stmts: [{ stmt: into }] }, policy)).toMatchObject({ ok: false, rule: "select_into" });
    expect(checkSelect(selecting({ FutureExpr: { lock: [{ LockingClause: { strength: "LCS_FORUPDATE" } }] } }), policy)).toMatchObject({
      ok: false,
      rule: "locking_clause",
    });
  });

  it(`refuses trees nested deeper than ${MAX_TREE_DEPTH} levels and walks shallower ones`, () => {
    const nest = (levels: number): unknown => {
      let value: unknown = { A_Const: { ival: { ival: 1 } } };
      for (let i = 0; i < levels; i++) value = { FutureExpr: { arg: value } };
      return value;
    };
    expect(checkSelect(selecting(nest(MAX_TREE_DEPTH)), policy)).toMatchObject({ ok: false, rule: "too_complex" });
    expect(checkSelect(selecting(nest(MAX_TREE_DEPTH / 4)), policy)).toEqual({ ok: true, relations: [] });
  });

  it("refuses trees without exactly one SELECT statement", () => {
    expect(checkSelect({ stmts: [] }, policy)).toMatchObject({ ok: false, rule: "no_statement" });
    expect(checkSelect({}, policy)).toMatchObject({ ok: false, rule: "no_statement" });
    expect(checkSelect({ stmts: [{ stmt: null }] }, policy)).toMatchObject({ ok: false, rule: "not_select" });
    expect(checkSelect({ stmts: [{ stmt: { SelectStmt: {} } }, { stmt: { SelectStmt: {} } }] }, policy)).toMatchObject({
      ok: false,
      rule: "multiple_statements",
    });
  });
});
