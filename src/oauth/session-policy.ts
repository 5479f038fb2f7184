/** Session lifetimes (docs/security.md): absolute 12 h, idle 2 h; a rotated refresh token's grace window. */
export interface SessionPolicy {
  absoluteSeconds: number;
  idleSeconds: number;
  graceSeconds: number;
  codeSeconds: number;
  requestSeconds: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { absoluteSeconds: 12 * 3600, idleSeconds: 2 * 3600, graceSeconds: 30, codeSeconds: 300, requestSeconds: 900 };

export interface SessionTimes {
  created_at: number;
  last_used_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export type SessionState = "active" | "revoked" | "expired" | "idle";

export function sessionState(s: SessionTimes, now: number, policy: SessionPolicy = DEFAULT_SESSION_POLICY): SessionState {
  if (s.revoked_at !== null) return "revoked";
  if (now >= s.expires_at) return "expired";
  if (now - s.last_used_at >= policy.idleSeconds) return "idle";
  return "active";
}

export interface RefreshRow {
  rotated_at: number | null;
  grace_pair: string | null;
}

/**
 * What presenting a refresh token means (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2): a current token rotates; a token
 * rotated moments ago is a benign duplicate (clients double-refresh) and gets the same pair; any other rotated
 * token is reuse, which revokes the whole session.
 */
export type RefreshDecision = { kind: "rotate" } | { kind: "grace"; sealed: string } | { kind: "reuse" };

export function refreshDecision(row: RefreshRow, now: number, policy: SessionPolicy = DEFAULT_SESSION_POLICY): RefreshDecision {
  if (row.rotated_at === null) return { kind: "rotate" };
  if (row.grace_pair !== null && now - row.rotated_at <= policy.graceSeconds) return { kind: "grace", sealed: row.grace_pair };
  return { kind: "reuse" };
}
