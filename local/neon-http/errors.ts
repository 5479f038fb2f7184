// Error bodies of the local Neon endpoint (docs/neon-http.md). Every error answer carries all of Neon's keys; a Postgres
// error fills them from the server's ErrorResponse, anything else has `code: ""` and nulls. Only a 400 becomes a
// NeonDbError (with `code`) in @neondatabase/serverless; other statuses surface as "Server error (HTTP status N)".
import { DatabaseError } from "pg";

export interface NeonErrorBody {
  message: string;
  code: string;
  detail: string | null;
  hint: string | null;
  position: string | null;
  internalPosition: string | null;
  internalQuery: string | null;
  severity: string | null;
  where: string | null;
  table: string | null;
  column: string | null;
  schema: string | null;
  dataType: string | null;
  constraint: string | null;
  file: string | null;
  line: string | null;
  routine: string | null;
}

/** An error whose status and message are safe to show to the caller as they are. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** A Postgres error, or a failure of the connection to Postgres while a request's statements ran (400). */
export class QueryError extends Error {
  constructor(readonly failure: Error) {
    super(failure.message);
    this.name = "QueryError";
  }
}

export const INTERNAL_ERROR_MESSAGE = "internal error in the local Neon endpoint";

export function errorResponse(error: unknown): { status: number; body: NeonErrorBody } {
  const cause = error instanceof QueryError ? error.failure : error;
  if (cause instanceof DatabaseError) return { status: 400, body: databaseErrorBody(cause) };
  if (error instanceof QueryError) return { status: 400, body: plainErrorBody(error.message) };
  if (error instanceof HttpError) return { status: error.status, body: plainErrorBody(error.message) };
  return { status: 500, body: plainErrorBody(INTERNAL_ERROR_MESSAGE) };
}

export function plainErrorBody(message: string): NeonErrorBody {
  return {
    message,
    code: "",
    detail: null,
    hint: null,
    position: null,
    internalPosition: null,
    internalQuery: null,
    severity: null,
    where: null,
    table: null,
    column: null,
    schema: null,
    dataType: null,
    constraint: null,
    file: null,
    line: null,
    routine: null,
  };
}

function databaseErrorBody(error: DatabaseError): NeonErrorBody {
  return {
    message: error.message,
    code: error.code ?? "",
    detail: error.detail ?? null,
    hint: error.hint ?? null,
    position: error.position ?? null,
    internalPosition: error.internalPosition ?? null,
    internalQuery: error.internalQuery ?? null,
    severity: error.severity ?? null,
    where: error.where ?? null,
    table: error.table ?? null,
    column: error.column ?? null,
    schema: error.schema ?? null,
    dataType: error.dataType ?? null,
    constraint: error.constraint ?? null,
    file: error.file ?? null,
    line: error.line ?? null,
    routine: error.routine ?? null,
  };
}
