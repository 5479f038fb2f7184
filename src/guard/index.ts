// The execute_sql guard (docs/security.md): parse with the PostgreSQL 18 grammar, then check the whole tree. A refusal
// means the statement must not reach the database; its message names the rule and the offending object.
import { parseSql } from "./parser";
import { checkSelect } from "./rules";
import type { GuardPolicy, GuardResult } from "./types";

export type { GuardAccepted, GuardPolicy, GuardRefused, GuardResult, GuardRule, ParseTree, SqlParseResult } from "./types";
export { checkSelect } from "./rules";
export { parseSql } from "./parser";

/**
 * Guards one execute_sql statement. Never throws for anything the caller sent: unparsable input, and input that
 * makes the parser itself fail, are refusals (`parse_error`). Rejects only if the parser cannot be loaded.
 */
export async function guardSql(sql: string, policy: GuardPolicy): Promise<GuardResult> {
  const parsed = await parseSql(sql);
  if (!parsed.ok) {
    const at = parsed.position > 0 ? ` at character ${parsed.position}` : "";
    return { ok: false, rule: "parse_error", message: `parse_error: ${parsed.message}${at}` };
  }
  return checkSelect(parsed.tree, policy);
}
