// The execute_sql guard's checks on a parse tree (docs/security.md "The `execute_sql` guard"). Pure: no I/O, no catalog.
// Defence in depth: the sql tier's database role is the real boundary; the guard refuses, before any database
// round trip, what that role could still do or see and what a read-only analytic query never needs.
//
// Contract of checkSelect:
// - exactly one statement, a SELECT (plain, VALUES, TABLE x, set operations, parenthesised);
// - every object and array of the tree is visited, whatever its node type; statements of any other kind found
//   anywhere (e.g. INSERT … RETURNING inside WITH) are refused;
// - relations must be schema-qualified and on the tool's allowlist, or name a CTE in scope; system schemas
//   (pg_catalog, information_schema, pg_*) are refused even when listed;
// - functions must be pg_catalog built-ins on the generated allowlist and off the denylist;
// - casts and column definitions may use only pg_catalog types on the generated type allowlist;
// - operators named with OPERATOR(schema.op), in expressions, ORDER BY … USING and ANY/ALL, must be pg_catalog's;
// - SELECT … INTO, locking clauses, system columns and $n parameter references are refused;
// - functions that build large values from small input take their sizes from literals, and the statement's
//   generated volume stays under MAX_GENERATED_VOLUME (src/guard/sizes.ts);
// - the first violation in walk order is reported.
import { deniedFunctionReason } from "./denylist";
import { ALLOWED_FUNCTIONS, ALLOWED_TYPES } from "./functions.generated";
import type { SizeEffect } from "./sizes";
import { functionSize, MAX_GENERATED_VOLUME, typeSize } from "./sizes";
import { builtinName, displayName, isSystemSchema, nameParts, stringNodeValue } from "./names";
import type { GuardPolicy, GuardResult, GuardRule, ParseTree } from "./types";
import type { JsonObject } from "./walk";
import { DATA_MODIFYING_STATEMENTS, inlineNodeType, isJsonObject, isStatementNode, statementName, unwrapNode } from "./walk";

const allowedFunctions: ReadonlySet<string> = new Set(ALLOWED_FUNCTIONS);
const allowedTypes: ReadonlySet<string> = new Set(ALLOWED_TYPES);

/** Object-identifier types whose input looks objects up by name (PostgreSQL docs §8.19). */
const NAME_LOOKUP_TYPES: ReadonlySet<string> = new Set(["regclass", "regproc", "regprocedure", "regoper", "regoperator", "regtype", "regnamespace", "regrole", "regcollation"]);

/**
 * System columns (§5.6): xmin/xmax/cmin/cmax disclose transaction ids (the same information the denied txid_*
 * functions give), tableoid discloses relation oids, ctid physical row positions. None is analytic data.
 */
const SYSTEM_COLUMNS: ReadonlySet<string> = new Set(["ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"]);

/** TABLESAMPLE methods built into PostgreSQL (§7.2.1.2); others come from extensions. */
const SAMPLE_METHODS: ReadonlySet<string> = new Set(["system", "bernoulli"]);

/**
 * Deepest nesting of objects and arrays the walk follows. Analytic queries stay far below it; a deeper tree (e.g.
 * thousands of chained operators) is refused rather than risking the isolate's stack.
 */
export const MAX_TREE_DEPTH = 1000;

class Refusal {
  constructor(
    readonly rule: GuardRule,
    readonly message: string,
  ) {}
}

/** Checks a libpg-query parse tree against the guard's rules and the tool's relation allowlist. */
export function checkSelect(tree: ParseTree, policy: GuardPolicy): GuardResult {
  const statements = tree.stmts ?? [];
  if (statements.length === 0) return refused("no_statement", "the SQL contains no statement");
  if (statements.length > 1) {
    return refused("multiple_statements", `only one statement may be sent; found ${statements.length}`);
  }
  const statement = statements[0]?.stmt;
  const node = isJsonObject(statement) ? unwrapNode(statement) : undefined;
  if (node?.[0] !== "SelectStmt") {
    return refused("not_select", `only SELECT is allowed; found ${node ? statementName(node[0]) : "an unrecognised statement"}`);
  }
  const walker = new Walker(policy);
  try {
    walker.select(node[1], 0);
    walker.checkVolume();
  } catch (error) {
    if (error instanceof Refusal) return refused(error.rule, error.message);
    throw error;
  }
  return { ok: true, relations: walker.relations() };
}

function refused(rule: GuardRule, message: string): GuardResult {
  return { ok: false, rule, message: `${rule}: ${message}` };
}

class Walker {
  private readonly allowedRelations: ReadonlySet<string>;
  /** CTE names visible at the current point, innermost WITH last. */
  private readonly scopes: Set<string>[] = [];
  private readonly seen = new Set<string>();
  /** Characters and elements built by sized functions, and the product of the series' row counts. */
  private built = 0;
  private seriesRows = 1;

  constructor(policy: GuardPolicy) {
    this.allowedRelations = new Set(policy.allowedRelations);
  }

  relations(): string[] {
    return [...this.seen].sort();
  }

  /** Each built value may be repeated on every generated row, so the volume is their product. */
  checkVolume(): void {
    const volume = Math.max(1, this.built) * this.seriesRows;
    if (volume > MAX_GENERATED_VOLUME) {
      const parts = [this.built > 0 ? `${this.built} characters or elements built` : "", this.seriesRows > 1 ? `${this.seriesRows} series rows` : ""];
      throw new Refusal("generated_size", `the statement would generate ${parts.filter(Boolean).join(" × ")}, over the limit of ${MAX_GENERATED_VOLUME}`);
    }
  }

  private measure(effect: SizeEffect | undefined): void {
    if (effect === undefined) return;
    if (effect.kind === "refused") throw new Refusal("generated_size", effect.reason);
    if (effect.kind === "built") this.built += effect.amount;
    else this.seriesRows *= effect.amount;
  }

  /** Any JSON value; `key` is the field it was found under (it types unwrapped nodes). */
  private value(value: unknown, key: string | undefined, depth: number): void {
    if (depth > MAX_TREE_DEPTH) throw new Refusal("too_complex", `the statement nests deeper than ${MAX_TREE_DEPTH} levels`);
    if (Array.isArray(value)) {
      for (const item of value) this.value(item, key, depth + 1);
      return;
    }
    if (!isJsonObject(value)) return;
    const wrapped = unwrapNode(value);
    if (wrapped) this.node(wrapped[0], wrapped[1], depth + 1);
    else this.node(inlineNodeType(key, value), value, depth + 1);
  }

  private fields(body: JsonObject, depth: number, skip?: string): void {
    for (const [key, child] of Object.entries(body)) if (key !== skip) this.value(child, key, depth);
  }

  private node(type: string | undefined, body: JsonObject, depth: number): void {
    switch (type) {
      case "SelectStmt":
        this.select(body, depth);
        return;
      case "CommonTableExpr":
        this.cte(body, depth);
        return;
      case "IntoClause":
        throw new Refusal("select_into", "SELECT … INTO creates a table; only plain SELECT is allowed");
      case "LockingClause":
        throw lockingRefusal();
      case "RangeVar":
        this.relation(body);
        break;
      case "FuncCall":
        checkFunction(body.funcname);
        this.measure(functionSize(body.funcname, body));
        break;
      case "TypeName":
        checkType(body);
        this.measure(typeSize(body));
        break;
      case "A_Expr":
        checkOperator(body.name);
        break;
      case "SortBy":
        checkOperator(body.useOp);
        break;
      case "SubLink":
        checkOperator(body.operName);
        break;
      case "ParamRef":
        throw new Refusal("parameter_reference", "execute_sql takes no parameters; write values into the statement");
      case "ColumnRef":
        checkColumn(body.fields);
        break;
      case "RangeTableSample":
        checkSampleMethod(body.method);
        break;
      default:
        if (type !== undefined && isStatementNode(type)) {
          throw new Refusal(DATA_MODIFYING_STATEMENTS.has(type) ? "data_modifying_cte" : "not_select", `${statementName(type)} may not appear inside a query`);
        }
    }
    this.fields(body, depth);
  }

  /** A SELECT at any level. Its WITH list is scoped as PostgreSQL scopes it (§7.8, parse_cte.c). */
  select(body: JsonObject, depth: number): void {
    if (body.intoClause !== undefined) throw new Refusal("select_into", "SELECT … INTO creates a table; only plain SELECT is allowed");
    if (Array.isArray(body.lockingClause) && body.lockingClause.length > 0) throw lockingRefusal();
    const withClause = body.withClause;
    if (!isJsonObject(withClause)) {
      this.fields(body, depth);
      return;
    }

    // WITH RECURSIVE: every CTE of the list is visible in every CTE body. Plain WITH: a CTE sees only the ones
    // before it; a later sibling's (or its own) name would resolve to a real relation through search_path.
    // The query itself sees them all. Names are visible in nested subqueries until an inner WITH shadows them.
    const ctes = Array.isArray(withClause.ctes) ? withClause.ctes : [];
    const scope = new Set<string>(withClause.recursive === true ? ctes.map(cteName).filter(isString) : []);
    this.scopes.push(scope);
    try {
      for (const item of ctes) {
        this.value(item, "ctes", depth + 1);
        const name = cteName(item);
        if (name !== undefined) scope.add(name);
      }
      this.fields(withClause, depth + 1, "ctes");
      this.fields(body, depth, "withClause");
    } finally {
      this.scopes.pop();
    }
  }

  private cte(body: JsonObject, depth: number): void {
    const query = isJsonObject(body.ctequery) ? unwrapNode(body.ctequery) : undefined;
    const name = typeof body.ctename === "string" ? displayName([body.ctename]) : "?";
    if (query && DATA_MODIFYING_STATEMENTS.has(query[0])) {
      throw new Refusal("data_modifying_cte", `WITH ${name} AS (${statementName(query[0])} …) modifies data`);
    }
    if (query?.[0] !== "SelectStmt") {
      throw new Refusal("not_select", `WITH ${name} must be a SELECT; found ${query ? statementName(query[0]) : "an unrecognised query"}`);
    }
    this.fields(body, depth);
  }

  private relation(body: JsonObject): void {
    const schema = body.schemaname;
    const name = body.relname;
    if (typeof name !== "string") throw new Refusal("relation_not_allowed", "unrecognised relation reference");
    if (typeof body.catalogname === "string") {
      throw new Refusal("relation_not_allowed", `${displayName([body.catalogname, String(schema), name])}: database-qualified names are not allowed`);
    }
    if (typeof schema !== "string") {
      if (this.scopes.some((scope) => scope.has(name))) return;
      throw new Refusal("unqualified_relation", `${displayName([name])} is not a CTE in scope; qualify relations with their schema, e.g. reporting.revenue_summary`);
    }
    const shown = displayName([schema, name]);
    if (isSystemSchema(schema)) throw new Refusal("catalog_relation", `${shown} is in a system schema; catalog relations are not available`);
    const key = `${schema}.${name}`;
    if (schema.includes(".") || name.includes(".") || !this.allowedRelations.has(key)) {
      throw new Refusal("relation_not_allowed", `${shown} is not a relation this tool may read`);
    }
    this.seen.add(key);
  }
}

function checkFunction(funcname: unknown): void {
  const parts = nameParts(funcname);
  if (!parts || parts.length === 0) throw new Refusal("function_not_allowed", "unrecognised function name");
  const name = builtinName(parts);
  if (name === undefined) {
    throw new Refusal("function_not_allowed", `${displayName(parts)}: only built-in pg_catalog functions may be called`);
  }
  const reason = deniedFunctionReason(name);
  if (reason !== undefined) throw new Refusal("function_denied", `function ${displayName([name])} is refused: it ${reason}`);
  if (!allowedFunctions.has(name)) {
    throw new Refusal("function_not_allowed", `function ${displayName([name])} is not on the allowlist of read-only built-in functions`);
  }
}

function checkType(typeName: JsonObject): void {
  if (typeName.setof === true || typeName.pct_type === true) throw new Refusal("type_not_allowed", "SETOF and %TYPE are not allowed");
  const parts = nameParts(typeName.names);
  if (!parts || parts.length === 0) throw new Refusal("type_not_allowed", "unrecognised type name");
  const name = builtinName(parts);
  if (name === undefined) throw new Refusal("type_not_allowed", `${displayName(parts)}: only built-in pg_catalog types may be used`);
  if (NAME_LOOKUP_TYPES.has(name)) {
    throw new Refusal("type_not_allowed", `type ${name} looks up catalog objects by name; it may not be used`);
  }
  if (!allowedTypes.has(name)) throw new Refusal("type_not_allowed", `type ${displayName([name])} is not on the allowlist of built-in types`);
}

function checkOperator(operatorName: unknown): void {
  if (operatorName === undefined) return;
  const parts = nameParts(operatorName);
  if (!parts || builtinName(parts) === undefined) {
    throw new Refusal("operator_not_allowed", `OPERATOR(${parts ? parts.join(".") : "?"}): only pg_catalog operators may be named`);
  }
}

function checkColumn(fields: unknown): void {
  if (!Array.isArray(fields)) return;
  const last = stringNodeValue(fields[fields.length - 1]);
  if (last !== undefined && SYSTEM_COLUMNS.has(last)) {
    throw new Refusal("system_column", `system column ${last} is not available`);
  }
}

function checkSampleMethod(method: unknown): void {
  const parts = nameParts(method);
  const name = parts ? builtinName(parts) : undefined;
  if (name === undefined || !SAMPLE_METHODS.has(name)) {
    throw new Refusal("function_not_allowed", `TABLESAMPLE ${parts ? displayName(parts) : "?"}: only SYSTEM and BERNOULLI are allowed`);
  }
}

function lockingRefusal(): Refusal {
  return new Refusal("locking_clause", "FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE locks rows; it is not allowed");
}

function cteName(item: unknown): string | undefined {
  if (!isJsonObject(item)) return undefined;
  const wrapped = unwrapNode(item);
  const body = wrapped ? wrapped[1] : item;
  return typeof body.ctename === "string" ? body.ctename : undefined;
}

function isString(value: string | undefined): value is string {
  return value !== undefined;
}
