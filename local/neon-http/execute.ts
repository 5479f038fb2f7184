// Runs a request's statements on a leased connection (docs/neon-http.md). Every statement goes through the extended
// protocol, so a string holding two statements fails with 42601. A batch is one transaction: START TRANSACTION
// with the batch options, each statement, COMMIT; on the first failing statement, ROLLBACK and that error.
// The lease is marked broken when the connection may not be reused: after any failed single statement and any
// failed COMMIT (as Neon's pool does), and whenever a response was cut short while a statement still ran.
import type { FieldDef, PoolClient, QueryConfig } from "pg";
import { DatabaseError, Query } from "pg";
import { QueryError } from "./errors";
import type { BatchOptions } from "./headers";
import { startTransactionSql } from "./headers";
import type { Payload, QueryData } from "./payload";
import type { Lease } from "./pools";
import type { ResponseBudget, ResultShape } from "./results";
import { ResultWriter } from "./results";

export interface ExecutionOptions {
  /** Neon-Array-Mode; a statement's own `arrayMode` wins. */
  arrayMode: boolean;
  rawTextOutput: boolean;
  batch: BatchOptions;
}

/** The response JSON for the payload; throws a QueryError (Postgres) or HttpError (limits) on failure. */
export async function execute(lease: Lease, payload: Payload, options: ExecutionOptions, budget: ResponseBudget): Promise<string> {
  if (payload.kind === "single") {
    try {
      return await runStatement(lease.client, payload.query, shapeFor(payload.query, options), budget);
    } catch (error) {
      lease.broken = true;
      throw error;
    }
  }
  return runBatch(lease, payload.queries, options, budget);
}

async function runBatch(lease: Lease, queries: QueryData[], options: ExecutionOptions, budget: ResponseBudget): Promise<string> {
  await runControl(lease, startTransactionSql(options.batch));
  const results: string[] = [];
  try {
    for (const query of queries) results.push(await runStatement(lease.client, query, shapeFor(query, options), budget));
  } catch (error) {
    if (isPostgresError(error)) await runControl(lease, "ROLLBACK").catch(() => undefined);
    else lease.broken = true;
    throw error;
  }
  await runControl(lease, "COMMIT");
  return `{"results":[${results.join(",")}]}`;
}

function shapeFor(query: QueryData, options: ExecutionOptions): ResultShape {
  return { arrayMode: query.arrayMode ?? options.arrayMode, rawTextOutput: options.rawTextOutput };
}

async function runControl(lease: Lease, sql: string): Promise<void> {
  try {
    await lease.client.query(sql);
  } catch (error) {
    lease.broken = true;
    throw new QueryError(error as Error);
  }
}

// Rows are taken one by one (pg's "row" event, not accumulated) so the response budget applies while they
// arrive. If the budget runs out, the promise rejects at once and the statement is left running: the caller
// must then destroy the connection rather than reuse it.
function runStatement(client: PoolClient, data: QueryData, shape: ResultShape, budget: ResponseBudget): Promise<string> {
  const writer = new ResultWriter(shape, budget);
  // `queryMode` is honoured by pg (8.12+) but missing from its type declarations.
  const config: QueryConfig & { rowMode: "array"; queryMode: "extended" } = {
    text: data.query,
    values: data.params,
    rowMode: "array",
    queryMode: "extended",
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const query = new Query<(string | null)[]>(config);
    query.on("row", (row: (string | null)[], result?: { fields: FieldDef[] }) => {
      if (settled) return;
      try {
        writer.addRow(row, result?.fields ?? []);
      } catch (error) {
        fail(error);
      }
    });
    query.on("error", (error: Error) => fail(new QueryError(error)));
    query.on("end", (result: { fields: FieldDef[]; command: string | null; rowCount: number | null }) => {
      if (settled) return;
      try {
        const json = writer.finish(result.fields, result.command, result.rowCount);
        settled = true;
        resolve(json);
      } catch (error) {
        fail(error);
      }
    });
    client.query(query);
  });
}

function isPostgresError(error: unknown): boolean {
  return error instanceof QueryError && error.failure instanceof DatabaseError;
}
