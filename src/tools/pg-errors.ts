/**
 * Maps a Postgres SQLSTATE (PostgreSQL manual, Appendix A) to a tool error that helps the model without
 * revealing internals: no server message, no object names beyond what the tool already exposes.
 */
export interface MappedDbError {
  rule: string;
  message: string;
}

export function mapSqlState(code: string | undefined, ctx: { timeoutMs: number }): MappedDbError {
  const c = code ?? "";
  if (c === "57014") return { rule: "timeout", message: `The query exceeded this tool's time limit of ${ctx.timeoutMs} ms and was cancelled. Narrow it with filters or aggregate in SQL.` };
  if (c === "42501") return { rule: "permission_denied", message: "The tool's database role is not allowed to read that." };
  if (c === "25006") return { rule: "read_only", message: "This tool runs in a read-only transaction; it cannot change data." };
  if (c === "40001" || c === "40P01") return { rule: "conflict", message: "The query conflicted with concurrent activity. Try again." };
  if (c === "55P03") return { rule: "lock_timeout", message: "The query waited too long for a lock. Try again later." };
  if (c.startsWith("22")) return { rule: "invalid_value", message: "An argument value was not valid for the query (data exception)." };
  if (c.startsWith("23")) return { rule: "constraint", message: "The change would violate a database constraint." };
  if (c.startsWith("53") || c.startsWith("54")) return { rule: "resource_limit", message: "The query needed more resources than the database allows. Aggregate or filter in SQL." };
  // admin_shutdown: the backend was terminated (pg_terminate_backend, which revoking a dynamic login does, or a
  // shutdown); its transaction is rolled back.
  if (c === "57P01") {
    return {
      rule: "terminated",
      message: "The database ended this query before it finished (a revocation of this access, an administrator or a shutdown terminated its connection). Nothing was changed.",
    };
  }
  if (c.startsWith("08") || c.startsWith("57P") || c === "28P01" || c === "28000" || c === "3D000") return { rule: "unavailable", message: "The database is unavailable right now. Try again later." };
  if (c.startsWith("42")) return { rule: "query_error", message: `The query is not valid for this database (SQLSTATE ${c}).` };
  return { rule: "database_error", message: c ? `The database returned an error (SQLSTATE ${c}).` : "The database could not be reached." };
}
