import { neon, neonConfig, NeonDbError } from "@neondatabase/serverless";
import type { RawResult } from "./result";
import type { Statement } from "./statement";

export type DbOutcome =
  | { ok: true; result: RawResult; dbMs: number }
  | { ok: false; kind: "db_error"; sqlstate: string | undefined; dbMs: number }
  | { ok: false; kind: "deadline"; dbMs: number }
  | { ok: false; kind: "too_large"; dbMs: number }
  | { ok: false; kind: "unreachable"; dbMs: number }
  /** A dynamic credential's login was revoked (tools/dynamic-execute.ts): it is never re-created. */
  | { ok: false; kind: "revoked"; dbMs: number }
  /** A dynamic credential's login could not be created, or was still refused after the broker created it. */
  | { ok: false; kind: "login_failed"; sqlstate?: string; dbMs: number };

/** Every value stays Postgres text; tools/values.ts converts by type OID. */
const rawText = { getTypeParser: () => (value: string) => value };

/**
 * Points the driver at the local SQL-over-HTTP endpoint in development. `neonConfig.fetchEndpoint` is a
 * global-only setting (docs/architecture.md), so it is (re)applied from the environment on the request path.
 */
export function configureNeon(localEndpoint: string | undefined): void {
  if (localEndpoint) neonConfig.fetchEndpoint = localEndpoint;
}

/**
 * Runs one statement in a read-only transaction on the tool's own credential (docs/security.md step 5): the statement
 * timeout is applied with set_config(…, true) in the same transaction, and the fetch is aborted on a client-side
 * deadline a little past it, so neither a stuck database nor a stuck network holds the call.
 */
export function runReadOnly(connectionString: string, statement: Statement, timeoutMs: number, now: () => number): Promise<DbOutcome> {
  return runTransaction(connectionString, statement, timeoutMs, now, true);
}

/** A write tool's statement: a read-write transaction on the write tier's credential, same limits. */
export function runWrite(connectionString: string, statement: Statement, timeoutMs: number, now: () => number): Promise<DbOutcome> {
  return runTransaction(connectionString, statement, timeoutMs, now, false);
}

async function runTransaction(connectionString: string, statement: Statement, timeoutMs: number, now: () => number, readOnly: boolean): Promise<DbOutcome> {
  const started = now();
  const deadline = AbortSignal.timeout(timeoutMs + 2000);
  const sql = neon(connectionString, { arrayMode: true, fullResults: true, fetchOptions: { signal: deadline } });
  try {
    const results = await sql.transaction(
      // In a transaction the driver takes type parsers from each query's own options.
      // standard_conforming_strings is pinned: with it off, '\' would end a string literal differently from how
      // the guard's parser read it (a backslash-quote smuggling a second statement).
      // search_path is pinned to pg_catalog, with pg_temp named last so that it is not searched first: an
      // unqualified name can then resolve only to a built-in, never to an object in public (e.g. an extension's
      // overload of a function the guard allows by name). Relations in tool SQL are schema-qualified anyway.
      [
        sql.query("SELECT set_config('statement_timeout', $1, true), set_config('standard_conforming_strings', 'on', true), set_config('search_path', 'pg_catalog, pg_temp', true)", [
          String(timeoutMs),
        ]),
        sql.query(statement.text, statement.params, { types: rawText }),
      ],
      readOnly ? { readOnly: true, isolationLevel: "RepeatableRead", arrayMode: true, fullResults: true } : { readOnly: false, isolationLevel: "ReadCommitted", arrayMode: true, fullResults: true },
    );
    const last = results[results.length - 1];
    if (!last) return { ok: false, kind: "unreachable", dbMs: now() - started };
    const result: RawResult = {
      fields: last.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
      rows: last.rows as unknown as Array<Array<string | null>>,
    };
    return { ok: true, result, dbMs: now() - started };
  } catch (e) {
    const dbMs = now() - started;
    if (e instanceof NeonDbError && typeof e.code === "string" && e.code.length > 0) return { ok: false, kind: "db_error", sqlstate: e.code, dbMs };
    // Only a 400 carries a SQLSTATE; for other statuses the driver reports just "Server error (HTTP status N)".
    // 413 and 507 are the SQL-over-HTTP endpoint's request and response size limits (10 MiB).
    if (e instanceof NeonDbError && /HTTP status (413|507)\b/.test(e.message)) return { ok: false, kind: "too_large", dbMs };
    if (deadline.aborted) return { ok: false, kind: "deadline", dbMs };
    return { ok: false, kind: "unreachable", dbMs };
  }
}
