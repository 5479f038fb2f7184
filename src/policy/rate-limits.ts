/**
 * Per-minute limits a tool may declare. Workers Rate Limiting fixes each binding's limit in wrangler.toml, so the
 * policy chooses among these (one binding each); any other value is a validation error, never rounded silently.
 */
export const RATE_LIMITS = [10, 30, 60, 120, 600, 60000] as const;
export type PerMinute = (typeof RATE_LIMITS)[number];

export function isPerMinute(n: unknown): n is PerMinute {
  return typeof n === "number" && (RATE_LIMITS as readonly number[]).includes(n);
}

export function nearestPerMinute(n: number): PerMinute {
  return RATE_LIMITS.reduce<PerMinute>((best, r) => (Math.abs(r - n) < Math.abs(best - n) ? r : best), RATE_LIMITS[0]);
}

/**
 * The bucket a tool call counts against: one per workspace, principal and tool. Principal ids are the same string
 * in every workspace ("user:<email>", "task:<id>"), so without the workspace one workspace's callers would use
 * up another's quota.
 */
export function rateLimitKey(workspace: string, principal: string, tool: string): string {
  return `${workspace}\u0000${principal}\u0000${tool}`;
}

/** The Workers Rate Limiting binding's shape, declared here so this module stays free of runtime types. */
interface Limiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

interface Limiters {
  RL_10: Limiter;
  RL_30: Limiter;
  RL_60: Limiter;
  RL_120: Limiter;
  RL_600: Limiter;
  RL_60000: Limiter;
}

export function limiterFor(env: Limiters, perMinute: PerMinute): Limiter {
  switch (perMinute) {
    case 10:
      return env.RL_10;
    case 30:
      return env.RL_30;
    case 60:
      return env.RL_60;
    case 120:
      return env.RL_120;
    case 600:
      return env.RL_600;
    case 60000:
      return env.RL_60000;
  }
}
