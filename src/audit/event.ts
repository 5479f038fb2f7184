/** Outcomes of docs/audit.md; `started` marks a tool call whose intent is recorded and whose result is not yet. */
export type AuditOutcome = "started" | "ok" | "error" | "denied" | "blocked" | "pending_approval" | "rate_limited" | "invalid_arguments";

/** Request context shared by every row a request writes. Never a token value, secret or result row. */
export interface RequestContext {
  requestId: string;
  userAgent?: string;
  ip?: string;
  colo?: string;
  /** W3C trace id of the client's trace (`traceparent`), when the request carried one. */
  traceId?: string;
}

export interface AuditEvent {
  id: string;
  time: string;
  event: string;
  outcome: AuditOutcome;
  rule?: string;
  principal?: string;
  principalKind?: string;
  clientId?: string;
  clientName?: string;
  sessionId?: string;
  tokenJti?: string;
  workspace?: string;
  tool?: string;
  toolVersion?: string;
  dbRole?: string;
  /** The per-token Postgres login a dynamic credential ran as (gh_…); absent for a static credential. */
  dbLogin?: string;
  sqlText?: string;
  sqlHash?: string;
  paramCount?: number;
  params?: Record<string, unknown>;
  rows?: number;
  bytes?: number;
  truncated?: boolean;
  durationMs?: number;
  dbMs?: number;
  sqlstate?: string;
  approvalId?: string;
  detail?: string;
}

export interface AuditCompletion {
  outcome: Exclude<AuditOutcome, "started">;
  rule?: string;
  rows?: number;
  bytes?: number;
  truncated?: boolean;
  durationMs: number;
  dbMs?: number;
  sqlstate?: string;
  detail?: string;
}
