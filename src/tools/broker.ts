import { neon, NeonDbError } from "@neondatabase/serverless";

/**
 * The Worker's side of the broker login (`gatehouse_broker`, postgres/roles.sql): it runs the broker's functions over
 * the Neon HTTP driver on the dynamic credential's secret, the broker's connection string. Every value is a bind
 * parameter; the functions quote identifiers and literals themselves.
 */

/** What `ensure_login` needs to create a token's login: the verifier, never the password. */
export interface LoginRequest {
  role: string;
  verifier: string;
  tierRole: string;
  /** Seconds since the epoch: the token's `exp` plus the grace. */
  validUntil: number;
  workspace: string;
  principal: string;
  clientId: string;
  sessionId: string | undefined;
  /** Hex SHA-256 of the token's jti: an operator's way from an audit row to the role. */
  jtiHash: string;
}

export type EnsureLoginOutcome = { ok: true; status: "created" | "exists" | "revoked" } | { ok: false; kind: "db_error"; sqlstate: string } | { ok: false; kind: "deadline" | "unreachable" };

/**
 * `gatehouse_broker.ensure_login(…)`: creates the login once (the function serialises concurrent calls for one name
 * with an advisory lock), reports `exists` for a live one and `revoked` for one that was revoked, never re-enabling it.
 */
export async function ensureLogin(brokerUrl: string, login: LoginRequest, timeoutMs: number): Promise<EnsureLoginOutcome> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const sql = neon(brokerUrl, { fetchOptions: { signal: deadline } });
  try {
    const rows = await sql.query("SELECT gatehouse_broker.ensure_login($1, $2, $3, to_timestamp($4), $5, $6, $7, $8, $9) AS status", [
      login.role,
      login.verifier,
      login.tierRole,
      login.validUntil,
      login.workspace,
      login.principal,
      login.clientId,
      login.sessionId ?? null,
      login.jtiHash,
    ]);
    const status = (rows[0] as { status?: unknown } | undefined)?.status;
    if (status === "created" || status === "exists" || status === "revoked") return { ok: true, status };
    return { ok: false, kind: "unreachable" };
  } catch (e) {
    if (e instanceof NeonDbError && typeof e.code === "string" && e.code.length > 0) return { ok: false, kind: "db_error", sqlstate: e.code };
    return { ok: false, kind: deadline.aborted ? "deadline" : "unreachable" };
  }
}
