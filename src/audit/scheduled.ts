import { sealAudit } from "./seal-d1";
import { foldAuditCounters } from "./flood-d1";
import { archiveAudit, purgeArchived } from "./archive-r2";
import { anchorHead } from "./anchor-r2";
import { readSecret } from "../env";
import { pruneExpired } from "../oauth/prune";
import { nowSeconds } from "../lib/clock";
import { logFailure } from "../lib/background";
import { configFor } from "../http/config";
import { sweepDatabaseLogins } from "../tools/dynamic-revocation";
import { credentialsFrom } from "../policy/credentials";

/** Default hot window (days of audit rows D1 keeps) when AUDIT_HOT_DAYS is unset or invalid. */
export const DEFAULT_HOT_DAYS = 30;

export function hotDays(raw: unknown): number {
  const days = Number(raw || DEFAULT_HOT_DAYS);
  return Number.isFinite(days) && days > 0 ? days : DEFAULT_HOT_DAYS;
}

/**
 * Cron Trigger (wrangler.toml [triggers]), every minute: fold the flood counters of finished minutes into the log,
 * extend the hash chain, sign its head (docs/audit.md "Anchoring"), archive sealed rows of finished hours to R2, and purge rows that are archived and past the
 * hot window (docs/audit.md "Archive"); independently, delete expired OAuth state, and drop the per-token database
 * logins of dynamic credentials expired more than the sweep's grace ago (docs/database-credentials.md). Rows are
 * stamped with the gateway's clock (lib/clock.ts), so minutes, hours and expiries are judged by it too.
 */
export async function scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const now = nowSeconds() * 1000;
  ctx.waitUntil(
    (async () => {
      await foldAuditCounters(env.DB, now);
      await sealAudit(env.DB, now);
      const bucket: R2Bucket | undefined = env.AUDIT_ARCHIVE;
      // No archive, no purge: a row leaves D1 only once it is durable elsewhere.
      if (!bucket) return;
      const anchorKey = readSecret(env, "AUDIT_ANCHOR_KEY");
      const anchorUrl = readSecret(env, "AUDIT_ANCHOR_URL");
      // A failed signature (e.g. a malformed key) is logged; archiving does not depend on it.
      await anchorHead({
        DB: env.DB,
        AUDIT_ARCHIVE: bucket,
        PUBLIC_ORIGIN: env.PUBLIC_ORIGIN,
        ...(anchorKey ? { AUDIT_ANCHOR_KEY: anchorKey } : {}),
        ...(anchorUrl ? { AUDIT_ANCHOR_URL: anchorUrl } : {}),
      }).catch((e: unknown) => console.error(`audit anchor not written: ${e instanceof Error ? e.message : String(e)}`));
      await archiveAudit(env.DB, bucket, now);
      await purgeArchived(env.DB, now, hotDays(env.AUDIT_HOT_DAYS));
    })(),
  );
  ctx.waitUntil(pruneExpired(env.DB, nowSeconds()));
  ctx.waitUntil(
    (async () => {
      const deps = { credentials: credentialsFrom(env), secret: (name: string) => readSecret(env, name), neonLocalEndpoint: configFor(env).neonLocalEndpoint };
      // Expiry is judged by the gateway's clock: tell the sweep how far it runs ahead of real time (dev clock only).
      await sweepDatabaseLogins(deps, nowSeconds() - Math.floor(Date.now() / 1000));
    })().catch(logFailure("sweeping expired database logins")),
  );
}
