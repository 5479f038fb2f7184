import { logFailure } from "../lib/background";
import type { CredentialBindings, ParsedCredentials } from "../policy/credentials";
import { brokerFailure, revokeLogins, sweepLogins, type LoginRevocation } from "./broker-admin";
import { configureNeon } from "./neon";

/**
 * Revocation and expiry reach the database (docs/database-credentials.md): a revocation ends the matching per-token
 * logins on every dynamic credential bound to the workspace, and the minute cron drops expired ones. Both run after
 * D1 has committed what they follow, so they only report: a broker that fails or is slow is logged, never an error
 * of the revocation (the gateway already refuses the revoked tokens; the sweep drops their logins at expiry).
 */

/** How long a revocation waits for each broker: the admin's answer waits for it. */
export const REVOKE_TIMEOUT_MS = 2000;
/** How long one sweep call may take (at most 500 drops). */
export const SWEEP_TIMEOUT_MS = 20_000;
/**
 * The sweep's grace past a login's VALID UNTIL (which is already the token's expiry plus LOGIN_GRACE_SECONDS):
 * a statement a login started just before its VALID UNTIL may still run for the longest statement timeout.
 */
export const SWEEP_GRACE_SECONDS = 60;
/** Sweep calls per broker and cron run: each drops at most 500 logins. */
const MAX_SWEEPS_PER_RUN = 10;

/**
 * The dynamic credentials bound to `workspace` (every dynamic credential when it is undefined), grouped by broker
 * connection string: one call per broker covers all its tier roles. A dynamic secret that is not set is listed
 * under the empty string.
 */
export function brokersOf(bindings: CredentialBindings, secret: (name: string) => string | undefined, workspace?: string): Map<string, string[]> {
  const brokers = new Map<string, string[]>();
  for (const [name, binding] of bindings) {
    if (!binding.dynamic || (workspace !== undefined && !binding.workspaces.includes(workspace))) continue;
    const url = secret(name) ?? "";
    brokers.set(url, [...(brokers.get(url) ?? []), name]);
  }
  return brokers;
}

/** The deployment's credentials (policy/credentials.ts credentialsFrom), its secrets, and the local Neon endpoint. */
export interface BrokerDeps {
  credentials: ParsedCredentials;
  secret: (name: string) => string | undefined;
  neonLocalEndpoint: string | undefined;
}

/** What a revocation did in the database, per broker (named by its secrets, never by URL). */
export interface DatabaseRevocation {
  /** Logins revoked by this revocation, over every broker that answered. */
  revoked: number;
  /** One line per broker: "DB_URL_A: 1 login revoked" or "DB_URL_A: the broker could not be reached". */
  lines: string[];
  failed: boolean;
}

/**
 * Ends the logins `r` names on every dynamic credential bound to `r.workspace`, in parallel, each bounded by
 * REVOKE_TIMEOUT_MS; undefined when the workspace has no dynamic credential. For `kind: "token"`, `r.value` is the
 * hex SHA-256 of the token's jti.
 */
export async function revokeDatabaseLogins(deps: BrokerDeps, r: LoginRevocation): Promise<DatabaseRevocation | undefined> {
  if (!deps.credentials.ok) return undefined;
  const brokers = brokersOf(deps.credentials.bindings, deps.secret, r.workspace);
  if (brokers.size === 0) return undefined;
  configureNeon(deps.neonLocalEndpoint);
  const results = await Promise.all(
    [...brokers].map(async ([url, secrets]) => {
      const named = secrets.join(", ");
      if (!url) return { named, outcome: undefined };
      return { named, outcome: await revokeLogins(url, r, REVOKE_TIMEOUT_MS) };
    }),
  );
  const report: DatabaseRevocation = { revoked: 0, lines: [], failed: false };
  for (const { named, outcome } of results) {
    if (outcome?.ok) {
      report.revoked += outcome.count;
      report.lines.push(`${named}: ${outcome.count} ${outcome.count === 1 ? "login" : "logins"} revoked`);
      continue;
    }
    const reason = outcome ? brokerFailure(outcome) : "the secret is not set";
    report.failed = true;
    report.lines.push(`${named}: ${reason}`);
    logFailure(`revoking database logins (${r.kind}) on ${named}`)(new Error(reason));
  }
  return report;
}

/**
 * The cron's sweep: on every broker of a dynamic credential, drops the logins expired more than the grace ago,
 * judged by the gateway's clock (`clockAheadSeconds` is how far it runs ahead of real time: 0 outside development,
 * where POST /dev/clock moves it). Failures are logged; returns the number of logins dropped.
 */
export async function sweepDatabaseLogins(deps: BrokerDeps, clockAheadSeconds: number): Promise<number> {
  if (!deps.credentials.ok) return 0;
  const brokers = brokersOf(deps.credentials.bindings, deps.secret);
  configureNeon(deps.neonLocalEndpoint);
  let dropped = 0;
  for (const [url, secrets] of brokers) {
    if (!url) continue;
    for (let run = 0; run < MAX_SWEEPS_PER_RUN; run++) {
      const outcome = await sweepLogins(url, SWEEP_GRACE_SECONDS - clockAheadSeconds, SWEEP_TIMEOUT_MS);
      if (!outcome.ok) {
        logFailure(`sweeping expired database logins on ${secrets.join(", ")}`)(new Error(brokerFailure(outcome)));
        break;
      }
      dropped += outcome.count;
      if (outcome.count < 500) break;
    }
  }
  return dropped;
}
