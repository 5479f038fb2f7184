import type { AuditCompletion, AuditEvent, RequestContext } from "./event";
import { FLOOD_ROWS_PER_MINUTE, FOLD_BATCH, FOLD_BATCHES_PER_RUN, floodMinute } from "./flood";
import { AuditUnavailable, completeAudit, recordAudit } from "./store-d1";

const COUNT = `INSERT INTO audit_counters (minute, flood_key, event, outcome, rule, workspace, principal, principal_kind, ip, count)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
  ON CONFLICT (minute, flood_key, event, outcome, rule, workspace) DO UPDATE SET count = count + 1`;

/**
 * Records a decision that runs nothing (see flood.ts): the row itself while the key's per-minute allowance lasts
 * (RL_60), else one more on the minute's counter. Like recordAudit, resolves only once D1 has accepted it.
 */
export async function recordBounded(env: { DB: D1Database; RL_60: RateLimit }, floodKey: string, event: AuditEvent, ctx: RequestContext): Promise<void> {
  const { success } = await env.RL_60.limit({ key: `audit:${floodKey}` });
  if (success) return recordAudit(env.DB, event, ctx);
  try {
    await env.DB.prepare(COUNT)
      .bind(floodMinute(event.time), floodKey, event.event, event.outcome, event.rule ?? "", event.workspace ?? "", event.principal ?? null, event.principalKind ?? null, ctx.ip ?? null)
      .run();
  } catch (cause) {
    throw new AuditUnavailable("audit store refused the counter", { cause });
  }
}

const COUNT_IF_DELETED = `INSERT INTO audit_counters (minute, flood_key, event, outcome, rule, workspace, principal, principal_kind, ip, count)
  SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, 1 WHERE changes() > 0
  ON CONFLICT (minute, flood_key, event, outcome, rule, workspace) DO UPDATE SET count = count + 1`;

/**
 * A call the rate limit refused after its intent row was already written (the limit is checked in parallel with
 * that write, tools/pipeline.ts): within the key's per-minute allowance the row is completed as the refusal;
 * past it, the still unsealed `started` row is replaced by one more on the minute's counter, in one transaction,
 * so throttled calls grow D1 no more than other refusals do.
 */
export async function recordThrottled(env: { DB: D1Database; RL_60: RateLimit }, floodKey: string, intent: AuditEvent, completion: AuditCompletion, ctx: RequestContext): Promise<void> {
  const { success } = await env.RL_60.limit({ key: `audit:${floodKey}` });
  if (success) return completeAudit(env.DB, intent.id, completion);
  await env.DB.batch([
    env.DB.prepare("DELETE FROM audit_events WHERE id = ? AND outcome = 'started' AND hash IS NULL").bind(intent.id),
    env.DB.prepare(COUNT_IF_DELETED).bind(
      floodMinute(intent.time),
      floodKey,
      intent.event,
      completion.outcome,
      completion.rule ?? "",
      intent.workspace ?? "",
      intent.principal ?? null,
      intent.principalKind ?? null,
      ctx.ip ?? null,
    ),
  ]);
}

// The same rows in both statements: a D1 batch is one transaction, and the insert does not touch audit_counters.
const PICK = "SELECT rowid FROM audit_counters WHERE minute < ? ORDER BY rowid LIMIT ?";
const FOLD = `INSERT INTO audit_events (id, time, event, outcome, rule, principal, principal_kind, workspace, ip, rows, detail)
  SELECT 'flood-' || lower(hex(randomblob(16))), minute || ':00.000Z', event, outcome, NULLIF(rule, ''), principal, principal_kind, NULLIF(workspace, ''), ip, count,
         'flood: ' || count || ' more in this minute, counted instead of recorded one by one (first ${FLOOD_ROWS_PER_MINUTE} a minute per key are rows of their own); key ' || flood_key
  FROM audit_counters WHERE rowid IN (${PICK})`;

/**
 * Cron Trigger: turns each counter of a finished minute into one audit row (event, outcome, rule and workspace of
 * the refusals, `rows` = how many, `detail` starting "flood:") and deletes the counter, in one transaction.
 * Returns how many counters it folded; at most FOLD_BATCH × FOLD_BATCHES_PER_RUN a run.
 */
export async function foldAuditCounters(db: D1Database, nowMs: number): Promise<number> {
  const current = floodMinute(new Date(nowMs).toISOString());
  let total = 0;
  for (let i = 0; i < FOLD_BATCHES_PER_RUN; i++) {
    const [inserted] = await db.batch([db.prepare(FOLD).bind(current, FOLD_BATCH), db.prepare(`DELETE FROM audit_counters WHERE rowid IN (${PICK})`).bind(current, FOLD_BATCH)]);
    const n = inserted?.meta.changes ?? 0;
    total += n;
    if (n < FOLD_BATCH) break;
  }
  return total;
}
