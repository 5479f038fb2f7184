/**
 * Flood accounting for audit rows of decisions that run nothing (refused tokens and registrations, listings,
 * unknown or throttled tools). Each key — an IP for unauthenticated requests, a workspace principal otherwise —
 * gets its first rows of a minute recorded one by one; the rest of that minute is counted, one row per minute,
 * key, event, outcome, rule and workspace, and folded into the log once the minute is over. So a flood grows D1 by
 * a bounded number of rows per key and minute, and the log still says how many requests were refused.
 *
 * Calls that execute are never counted: their intent row is written first and fails closed (tools/run.ts).
 */

/** Rows recorded one by one per key and minute: the RL_60 binding's limit (wrangler.toml). */
export const FLOOD_ROWS_PER_MINUTE = 60;

/** Counter rows folded per D1 transaction, and transactions per Cron run (both bounded). */
export const FOLD_BATCH = 500;
export const FOLD_BATCHES_PER_RUN = 10;

/** The key for an unauthenticated request: its IP key (http/client-ip.ts). */
export function ipFloodKey(ipKey: string): string {
  return `ip:${ipKey}`;
}

/** The key for an authenticated caller: workspace and principal (the same id in two workspaces is two callers). */
export function principalFloodKey(workspace: string, principal: string): string {
  return `principal:${workspace}:${principal}`;
}

/** The counter minute of an audit row's ISO time, "YYYY-MM-DDTHH:MM" (UTC). */
export function floodMinute(isoTime: string): string {
  return isoTime.slice(0, 16);
}
