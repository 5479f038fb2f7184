// Request headers of Neon's SQL-over-HTTP protocol (docs/neon-http.md). A flag is on only when its value is exactly
// `true`; an isolation level outside the four names is a 400; the batch headers are echoed on the response.
import type { IncomingHttpHeaders } from "node:http";
import type { ConnectionTarget } from "./connection-string";
import { parseConnectionString } from "./connection-string";
import { HttpError } from "./errors";

export type IsolationLevel = "Serializable" | "ReadUncommitted" | "ReadCommitted" | "RepeatableRead";

export interface BatchOptions {
  isolationLevel?: IsolationLevel;
  readOnly: boolean;
  deferrable: boolean;
}

export interface RequestOptions {
  target: ConnectionTarget;
  rawTextOutput: boolean;
  arrayMode: boolean;
  batch: BatchOptions;
}

const ISOLATION_SQL: Record<IsolationLevel, string> = {
  Serializable: "SERIALIZABLE",
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
};

/** The request headers the driver sends, as CORS preflight answers must list them. */
export const NEON_REQUEST_HEADERS = [
  "Authorization",
  "Content-Type",
  "Neon-Connection-String",
  "Neon-Raw-Text-Output",
  "Neon-Array-Mode",
  "Neon-Pool-Opt-In",
  "Neon-Batch-Read-Only",
  "Neon-Batch-Isolation-Level",
  "Neon-Batch-Deferrable",
];

export function parseRequestHeaders(headers: IncomingHttpHeaders): RequestOptions {
  const target = parseConnectionString(single(headers["neon-connection-string"]));
  const level = single(headers["neon-batch-isolation-level"]);
  if (level !== undefined && !Object.hasOwn(ISOLATION_SQL, level)) throw new HttpError(400, "invalid isolation level");
  const batch: BatchOptions = {
    readOnly: flag(headers["neon-batch-read-only"]),
    deferrable: flag(headers["neon-batch-deferrable"]),
  };
  if (level !== undefined) batch.isolationLevel = level as IsolationLevel;
  return {
    target,
    rawTextOutput: flag(headers["neon-raw-text-output"]),
    arrayMode: flag(headers["neon-array-mode"]),
    batch,
  };
}

/** `START TRANSACTION[ ISOLATION LEVEL x][, READ ONLY][, DEFERRABLE]` for a batch. */
export function startTransactionSql(batch: BatchOptions): string {
  const modes: string[] = [];
  if (batch.isolationLevel) modes.push(`ISOLATION LEVEL ${ISOLATION_SQL[batch.isolationLevel]}`);
  if (batch.readOnly) modes.push("READ ONLY");
  if (batch.deferrable) modes.push("DEFERRABLE");
  return modes.length > 0 ? `START TRANSACTION ${modes.join(", ")}` : "START TRANSACTION";
}

/** The batch headers that were in effect, as Neon echoes them on a batch response. */
export function batchResponseHeaders(batch: BatchOptions): Record<string, string> {
  const echoed: Record<string, string> = {};
  if (batch.readOnly) echoed["Neon-Batch-Read-Only"] = "true";
  if (batch.deferrable) echoed["Neon-Batch-Deferrable"] = "true";
  if (batch.isolationLevel) echoed["Neon-Batch-Isolation-Level"] = batch.isolationLevel;
  return echoed;
}

function flag(value: string | string[] | undefined): boolean {
  return single(value) === "true";
}

// Node joins repeated headers with ", " (or gives an array for a few); either way a repeated flag is not `true`.
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}
