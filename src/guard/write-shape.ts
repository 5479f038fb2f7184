import type { SqlParseResult } from "./types";

const WRITE_STATEMENTS = ["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"] as const;

/**
 * A write tool's statement must be exactly one INSERT, UPDATE, DELETE or MERGE with a RETURNING list and no WITH
 * clause (README "Write tools and approvals"): the gateway wraps it in a data-modifying CTE to count the changed rows against
 * max_affected_rows, and a statement that closed that CTE early, or carried a CTE of its own, could change rows the
 * count never sees. Returns the problem, or undefined when the shape is right.
 */
export function writeStatementProblem(parsed: SqlParseResult): string | undefined {
  if (!parsed.ok) return `does not parse: ${parsed.message}`;
  const stmts = parsed.tree.stmts ?? [];
  if (stmts.length !== 1) return `must be exactly one statement (found ${stmts.length})`;
  const stmt = stmts[0]!.stmt;
  if (typeof stmt !== "object" || stmt === null) return "must be an INSERT, UPDATE, DELETE or MERGE";
  const [kind, node] = Object.entries(stmt)[0] ?? [];
  if (!WRITE_STATEMENTS.includes(kind as never) || typeof node !== "object" || node === null) return "must be an INSERT, UPDATE, DELETE or MERGE";
  // PostgreSQL 18 parse trees carry RETURNING as returningClause.exprs (RETURNING OLD/NEW arrived with it).
  const n = node as { returningClause?: { exprs?: unknown[] }; returningList?: unknown[]; withClause?: unknown };
  if (n.withClause !== undefined) return "may not have a WITH clause";
  const returning = n.returningClause?.exprs ?? n.returningList;
  if (!Array.isArray(returning) || returning.length === 0) return "must end with RETURNING (e.g. RETURNING id)";
  return undefined;
}
