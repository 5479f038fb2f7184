import { neon, NeonDbError } from "@neondatabase/serverless";

/**
 * The broker's revocation and cleanup functions (postgres/roles.sql, docs/database-credentials.md), run over the
 * Neon HTTP driver on a dynamic credential's secret, the broker's connection string. Every value is a bind
 * parameter; the functions quote identifiers and literals themselves. Each call is one statement, so one
 * transaction: its NOLOGIN, terminations and drops commit together or not at all.
 */

/** What a revocation names: a session, principal, client or token (`value` = hex SHA-256 of the jti) of a workspace. */
export interface LoginRevocation {
  kind: "session" | "principal" | "client" | "token";
  value: string;
  workspace: string;
}

export type BrokerOutcome = { ok: true; count: number } | { ok: false; kind: "db_error"; sqlstate: string } | { ok: false; kind: "deadline" | "unreachable" };

/**
 * `gatehouse_broker.revoke_logins(kind, value, workspace)`: the matching logins become NOLOGIN and their backends
 * are terminated, so a running query stops. `count` is how many logins this call revoked (0 when repeated).
 */
export function revokeLogins(brokerUrl: string, r: LoginRevocation, timeoutMs: number): Promise<BrokerOutcome> {
  return countOf(brokerUrl, "SELECT gatehouse_broker.revoke_logins($1, $2, $3) AS n", [r.kind, r.value, r.workspace], timeoutMs);
}

/**
 * `gatehouse_broker.sweep_logins(grace)`: drops the logins whose VALID UNTIL lies more than `graceSeconds` in the
 * database's past (a negative grace judges by a clock that is ahead of the database's). `count` is how many were
 * dropped, at most 500 per call.
 */
export function sweepLogins(brokerUrl: string, graceSeconds: number, timeoutMs: number): Promise<BrokerOutcome> {
  return countOf(brokerUrl, "SELECT gatehouse_broker.sweep_logins(make_interval(secs => $1)) AS n", [graceSeconds], timeoutMs);
}

async function countOf(brokerUrl: string, text: string, params: unknown[], timeoutMs: number): Promise<BrokerOutcome> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const sql = neon(brokerUrl, { fetchOptions: { signal: deadline } });
  try {
    const rows = await sql.query(text, params);
    const n = Number((rows[0] as { n?: unknown } | undefined)?.n);
    return Number.isInteger(n) ? { ok: true, count: n } : { ok: false, kind: "unreachable" };
  } catch (e) {
    if (e instanceof NeonDbError && typeof e.code === "string" && e.code.length > 0) return { ok: false, kind: "db_error", sqlstate: e.code };
    return { ok: false, kind: deadline.aborted ? "deadline" : "unreachable" };
  }
}

/** A failed outcome in words for a log line or an audit detail: never the URL or a value. */
export function brokerFailure(o: Exclude<BrokerOutcome, { ok: true }>): string {
  if (o.kind === "db_error") return `the broker failed with SQLSTATE ${o.sqlstate}`;
  return o.kind === "deadline" ? "the broker did not answer in time" : "the broker could not be reached";
}
