import { purgeAudit, sealAudit } from "./seal-d1";
import { foldAuditCounters } from "./flood-d1";
import { pruneExpired } from "../oauth/prune";
import { nowSeconds } from "../lib/clock";

/** Default audit retention when AUDIT_RETENTION_DAYS is unset. */
export const DEFAULT_RETENTION_DAYS = 400;

/**
 * Cron Trigger (wrangler.toml [triggers]), every minute: fold the flood counters of finished minutes into the log,
 * extend the hash chain, purge rows past retention; independently, delete expired OAuth state. Rows are stamped
 * with the gateway's clock (lib/clock.ts), so minutes and expiries are judged by it too.
 */
export async function scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const now = Date.now();
  ctx.waitUntil(
    (async () => {
      await foldAuditCounters(env.DB, nowSeconds() * 1000);
      await sealAudit(env.DB, now);
      const days = Number(env.AUDIT_RETENTION_DAYS || DEFAULT_RETENTION_DAYS);
      if (Number.isFinite(days) && days > 0) await purgeAudit(env.DB, now, days);
    })(),
  );
  ctx.waitUntil(pruneExpired(env.DB, nowSeconds()));
}
