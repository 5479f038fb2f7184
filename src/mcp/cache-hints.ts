/** Longest time a client may reuse a tool list without asking again, whatever the token's lifetime. */
export const MAX_LIST_TTL_MS = 60_000;

/**
 * The MCP 2026-07-28 cache hint for a caller's lists (`tools/list`, `server/discover`). The list is computed
 * for one principal, token scope and policy version, so:
 * - `cacheScope: "private"`: only the requesting client may keep it, never a shared cache, so one user's list is
 *   never served to another;
 * - `ttlMs` no longer than the token's remaining life (a list must not outlive the credential it was made for)
 *   and at most a minute, so a policy change (a grant withdrawn) reaches the client within that bound.
 */
export function listCacheHint(p: { tokenExp: number; now: number }): { ttlMs: number; cacheScope: "private" } {
  const remainingMs = Math.max(0, (p.tokenExp - p.now) * 1000);
  return { ttlMs: Math.min(MAX_LIST_TTL_MS, remainingMs), cacheScope: "private" };
}
