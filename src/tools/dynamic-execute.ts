import type { EnsureLoginOutcome } from "./broker";
import type { DbOutcome } from "./neon";

/**
 * SQLSTATEs of a refused login (PostgreSQL manual, Appendix A, class 28): 28P01 for a role that does not exist, an
 * expired VALID UNTIL or a wrong password (Postgres does not say which), 28000 for a NOLOGIN (revoked) role.
 */
const LOGIN_REFUSED = new Set(["28P01", "28000"]);

const refused = (o: DbOutcome): o is Extract<DbOutcome, { kind: "db_error" }> => !o.ok && o.kind === "db_error" && o.sqlstate !== undefined && LOGIN_REFUSED.has(o.sqlstate);

/**
 * A statement on a dynamic credential: connect as the token's own login first, so a login that exists costs nothing
 * more than a static credential. Only when the login is refused is it created through the broker, then the statement
 * is tried once more. A revoked login is reported as such and never re-created; a broker failure, or a login still
 * refused after the broker answered, is `login_failed`. `dbMs` covers every attempt.
 */
export async function executeAsLogin(deps: { run: () => Promise<DbOutcome>; ensure: () => Promise<EnsureLoginOutcome>; now: () => number }): Promise<DbOutcome> {
  const started = deps.now();
  const first = await deps.run();
  if (!refused(first)) return first;
  const ensured = await deps.ensure();
  if (!ensured.ok) return { ok: false, kind: "login_failed", ...(ensured.kind === "db_error" ? { sqlstate: ensured.sqlstate } : {}), dbMs: deps.now() - started };
  if (ensured.status === "revoked") return { ok: false, kind: "revoked", dbMs: deps.now() - started };
  const second = await deps.run();
  if (refused(second)) return { ok: false, kind: "login_failed", sqlstate: second.sqlstate, dbMs: deps.now() - started };
  return { ...second, dbMs: deps.now() - started };
}
