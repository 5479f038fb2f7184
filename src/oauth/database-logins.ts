import type { Context } from "hono";
import type { AppEnv } from "../env";
import { readSecret } from "../env";
import { credentialsFrom } from "../policy/credentials";
import { configFor } from "../http/config";
import { logFailure } from "../lib/background";
import { sha256Hex } from "../lib/sha256";
import type { LoginRevocation } from "../tools/broker-admin";
import { revokeDatabaseLogins } from "../tools/dynamic-revocation";
import { recordOAuthEvent } from "./audit";

/**
 * Every revocation path calls this once its revocation has committed in D1 (admin API and console, RFC 7009
 * /revoke, refresh-token reuse, a replayed code, withdrawn access, console sign-out): the matching logins of the
 * workspace's dynamic database credentials become NOLOGIN and their running queries are terminated
 * (docs/database-credentials.md). Awaited, each broker bounded by a short deadline; what happened is its own audit
 * row (`revocation.database`, outcome `error` when a broker failed, one line per broker in `detail`), written only
 * when the workspace has a dynamic credential. Never throws: the revocation itself already stands.
 * `r.value` is the jti for `kind: "token"` (hashed here, as the broker records it).
 */
export async function endDatabaseLogins(c: Context<AppEnv>, r: LoginRevocation, by: { principal?: string; clientId?: string }): Promise<void> {
  try {
    const value = r.kind === "token" ? await sha256Hex(r.value) : r.value;
    const deps = { credentials: credentialsFrom(c.env), secret: (name: string) => readSecret(c.env, name), neonLocalEndpoint: configFor(c.env).neonLocalEndpoint };
    const report = await revokeDatabaseLogins(deps, { ...r, value });
    if (!report) return;
    await recordOAuthEvent(c, {
      event: "revocation.database",
      outcome: report.failed ? "error" : "ok",
      rule: r.kind,
      ...by,
      ...(r.kind === "session" ? { sessionId: r.value } : r.kind === "token" ? { tokenJti: r.value } : {}),
      workspace: r.workspace,
      detail: [...(r.kind === "principal" || r.kind === "client" ? [r.value] : []), ...report.lines].join("; "),
    }).catch(logFailure("audit row of a database revocation"));
  } catch (error) {
    logFailure("revoking database logins")(error);
  }
}
