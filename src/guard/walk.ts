// How node types are recognised in libpg-query's JSON parse tree, whatever the node. The guard walks every key
// of every object; these helpers only tell it which checks apply where.
//
// libpg-query prints a field declared as a generic `Node *` (or a list of them) wrapped in its type name,
// `{ "FuncCall": { … } }`, and a field declared with one specific node type inline, without the wrapper
// (pg_query.proto; e.g. SelectStmt.larg, TypeCast.typeName). Inline fields are typed here by field name, and,
// for the node types the guard must never miss, also by shape, so a construct this file does not know still
// gets its relations, functions and types checked.

export type JsonObject = { readonly [key: string]: unknown };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `{ "TypeName": { … } }` → ["TypeName", { … }]: one key, a node type name (upper-case first letter), an object. */
export function unwrapNode(value: JsonObject): [type: string, body: JsonObject] | undefined {
  let type: string | undefined;
  for (const key in value) {
    if (type !== undefined) return undefined;
    type = key;
  }
  if (type === undefined) return undefined;
  const first = type.charCodeAt(0);
  if (first < 65 || first > 90) return undefined;
  const body = value[type];
  return isJsonObject(body) ? [type, body] : undefined;
}

/** Inline (unwrapped) fields of the node types a SELECT can contain, by field name (pg_query.proto). */
const INLINE_FIELD_TYPES: Readonly<Record<string, string>> = {
  larg: "SelectStmt",
  rarg: "SelectStmt",
  withClause: "WithClause",
  intoClause: "IntoClause",
  typeName: "TypeName",
  over: "WindowDef",
  rel: "RangeVar",
  relation: "RangeVar",
};

/** The node type of an unwrapped object found under `key`, or undefined when nothing identifies it. */
export function inlineNodeType(key: string | undefined, value: JsonObject): string | undefined {
  const byField = key === undefined ? undefined : INLINE_FIELD_TYPES[key];
  if (byField !== undefined) return byField;
  if (typeof value.relname === "string") return "RangeVar";
  if (Array.isArray(value.funcname)) return "FuncCall";
  if (Array.isArray(value.names) && ("typemod" in value || "typeOid" in value || "arrayBounds" in value)) return "TypeName";
  if (Array.isArray(value.ctes)) return "WithClause";
  if ("ctequery" in value) return "CommonTableExpr";
  return undefined;
}

/** The statement node types that change data (PostgreSQL docs §7.8.4 "Data-Modifying Statements in WITH"). */
export const DATA_MODIFYING_STATEMENTS: ReadonlySet<string> = new Set(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

/** Every raw statement node type ends in "Stmt" (parsenodes.h); SelectStmt is the only one a query may contain. */
export function isStatementNode(type: string): boolean {
  return type.endsWith("Stmt");
}

/** Human names for statement kinds that callers are likely to try; others are described generically. */
const STATEMENT_NAMES: Readonly<Record<string, string>> = {
  InsertStmt: "INSERT",
  UpdateStmt: "UPDATE",
  DeleteStmt: "DELETE",
  MergeStmt: "MERGE",
  TransactionStmt: "transaction control",
  VariableSetStmt: "SET",
  VariableShowStmt: "SHOW",
  ExplainStmt: "EXPLAIN",
  CopyStmt: "COPY",
  CreateTableAsStmt: "CREATE TABLE AS",
  DoStmt: "DO",
  CallStmt: "CALL",
  PrepareStmt: "PREPARE",
  ExecuteStmt: "EXECUTE",
  DeclareCursorStmt: "DECLARE CURSOR",
  LockStmt: "LOCK",
  NotifyStmt: "NOTIFY",
  ListenStmt: "LISTEN",
  TruncateStmt: "TRUNCATE",
  DropStmt: "DROP",
  CreateStmt: "CREATE TABLE",
  AlterRoleSetStmt: "ALTER ROLE … SET",
  GrantStmt: "GRANT",
  VacuumStmt: "VACUUM or ANALYZE",
};

export function statementName(type: string): string {
  return STATEMENT_NAMES[type] ?? "a statement other than SELECT";
}
