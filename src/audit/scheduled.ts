import { purgeAudit, sealAudit } from "./seal-d1";

/** Default audit retention when AUDIT_RETENTION_DAYS is unset. */
export const DEFAULT_RETENTION_DAYS = 400;

/** Cron Trigger (wrangler.toml [triggers]): extend the hash chain, then purge rows past retention. */
export async function scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const now = Date.now();
  ctx.waitUntil(
    (async () => {
      await sealAudit(env.DB, now);
      const days = Number(env.AUDIT_RETENTION_DAYS || DEFAULT_RETENTION_DAYS);
      if (Number.isFinite(days) && days > 0) await purgeAudit(env.DB, now, days);
    })(),
  );
}
