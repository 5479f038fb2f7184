import type { PolicyDocument, PolicyError } from "./document";
import type { SqlParseResult } from "../guard/types";
import { writeStatementProblem } from "../guard/write-shape";

/**
 * The parser-backed half of policy validation: every write tool's statement has the one shape the gateway can
 * bound (guard/write-shape.ts). Separate from validatePolicy because parsing is asynchronous (WASM).
 */
export async function checkWriteStatements(policy: PolicyDocument, parse: (sql: string) => Promise<SqlParseResult>): Promise<PolicyError[]> {
  const errors: PolicyError[] = [];
  for (const [name, tool] of Object.entries(policy.tools)) {
    if (tool.kind !== "write" || !tool.sql) continue;
    const problem = writeStatementProblem(await parse(tool.sql));
    if (problem) errors.push({ path: `$.tools.${name}.sql`, message: `a write statement ${problem}` });
  }
  return errors;
}
