/**
 * Privilege tiers (docs/security.md, §4). Each tier has its own database role and credential, an OAuth scope, and a
 * maximum access-token lifetime; a token lives as long as the most privileged tier in its scope allows.
 */
export const TIERS = ["read", "sql", "write"] as const;
export type Tier = (typeof TIERS)[number];

export const TIER_SCOPE: Record<Tier, string> = { read: "db:read", sql: "db:sql", write: "db:write" };

/** Default lifetimes in seconds; never over 900 (docs/security.md). */
export const DEFAULT_TIER_TTL: Record<Tier, number> = { read: 900, sql: 600, write: 300 };

export const MAX_TOKEN_TTL = 900;

/** Scope for the gateway's own admin API (revocation, task clients); never granted by a tool, only by group. */
export const ADMIN_SCOPE = "gatehouse:admin";
export const ADMIN_TTL = 300;

/** Scope for deciding approval requests (members of a tool's approver group). */
export const APPROVE_SCOPE = "gatehouse:approve";

const RANK: Record<Tier, number> = { read: 0, sql: 1, write: 2 };

export function isTier(value: unknown): value is Tier {
  return value === "read" || value === "sql" || value === "write";
}

/** Tiers named by a space-separated OAuth scope string; unknown scope values are ignored. */
export function tiersInScope(scope: string): Tier[] {
  const values = new Set(scope.split(" "));
  return TIERS.filter((t) => values.has(TIER_SCOPE[t]));
}

export function scopeForTiers(tiers: Iterable<Tier>): string {
  const set = new Set(tiers);
  return TIERS.filter((t) => set.has(t))
    .map((t) => TIER_SCOPE[t])
    .join(" ");
}

/** The lifetime a token with this scope may have: the shortest TTL among its tiers (the most privileged). */
export function ttlForScope(scope: string, ttl: Record<Tier, number> = DEFAULT_TIER_TTL): number {
  const tiers = tiersInScope(scope);
  const ttls = tiers.map((t) => ttl[t]);
  const values = scope.split(" ");
  if (values.includes(ADMIN_SCOPE) || values.includes(APPROVE_SCOPE)) ttls.push(ADMIN_TTL);
  if (ttls.length === 0) return 0;
  return Math.min(MAX_TOKEN_TTL, ...ttls);
}

export function highestTier(tiers: Iterable<Tier>): Tier | undefined {
  let best: Tier | undefined;
  for (const t of tiers) if (best === undefined || RANK[t] > RANK[best]) best = t;
  return best;
}
