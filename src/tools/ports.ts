import type { AuditCompletion, AuditEvent } from "../audit/event";
import type { ApprovalRow } from "../approvals/state";
import type { TokenFailure } from "../oauth/errors";
import type { ToolDefinition } from "../policy/types";
import type { DbOutcome } from "./neon";
import type { Statement } from "./statement";

/**
 * The small interfaces the tools/call pipeline (pipeline.ts) depends on. Thin adapters implement them over D1,
 * Neon and the Workers bindings (ports-d1.ts, neon.ts); the unit test implements them in memory.
 */

/** What the caller-state read found (revocation, workspace membership, policy version). */
export type CallerVerdict =
  | { kind: "ok"; clientName?: string }
  /** Revoked, or no longer in the workspace: the answer is a 401, its reason the audit rule. */
  | { kind: "refused"; failure: TokenFailure }
  /** The policy changed since the snapshot the call was decided on: the decision must be taken again. */
  | { kind: "stale"; version: number };

/**
 * Whether the caller may still act. A gate is either already checked (the state was read before the decision)
 * or deferred: then its read travels with the audit intent, in one strongly consistent round trip.
 */
export interface CallerGate {
  /** The caller state alone: a call that ends without running anything still answers a revoked caller 401. */
  check(): Promise<CallerVerdict>;
  /**
   * The caller state and the durable audit intent, together (one D1 batch, one transaction). Rejects with
   * AuditUnavailable when the intent was not written: then nothing may run.
   */
  admit(intent: AuditEvent): Promise<CallerVerdict>;
}

export interface AuditSink {
  /** A copy of a finished call's audit event for telemetry (audit/otel-export.ts); synchronous, never throws. */
  finished?(event: AuditEvent): void;
  /** One row for a call that ran nothing (a refusal); resolves once stored. */
  record(event: AuditEvent): Promise<void>;
  /** The same, counted instead of stored past the caller's per-minute allowance (audit/flood.ts). */
  recordBounded(event: AuditEvent): Promise<void>;
  /** Completes an intent row once (a retried completion is a no-op). */
  complete(id: string, completion: AuditCompletion): Promise<void>;
  /**
   * Completes the intent of a call the rate limit refused, as `rate_limited`; past the caller's per-minute
   * allowance the row is folded into the minute's flood counter instead, so throttled calls stay bounded.
   */
  throttled(intent: AuditEvent, completion: AuditCompletion): Promise<void>;
}

/** The tool's database, on the tool's own credential. */
export interface ToolDatabase {
  /** Why the deployment does not let `workspace` use this tool's credential (DATABASE_CREDENTIALS), checked every call. */
  bindingProblem(workspace: string, tool: ToolDefinition): string | undefined;
  /** Whether the tool's connection-string secret is set. */
  hasCredential(tool: ToolDefinition): boolean;
  /**
   * The per-token login role the call runs as when the tool's credential is dynamic (tools/dynamic-login.ts), for the
   * audit row; undefined for a static credential.
   */
  login(tool: ToolDefinition): Promise<string | undefined>;
  execute(tool: ToolDefinition, statement: Statement): Promise<DbOutcome>;
}

export interface ApprovalKey {
  workspace: string;
  tool: string;
  requester: string;
  argsHash: string;
}

export type NewApproval = Omit<ApprovalRow, "decided_by" | "decided_at" | "reason" | "executed_at" | "execution_audit_id" | "refusal_reported">;

export interface ApprovalStore {
  latest(key: ApprovalKey): Promise<ApprovalRow | null>;
  /** `false` when an open request for the same key already exists. */
  file(request: NewApproval): Promise<boolean>;
  markRefusalReported(id: string): Promise<void>;
  /** Atomic: of concurrent claims of one approved request exactly one gets `true`. */
  claim(id: string, auditId: string, now: number): Promise<boolean>;
  finish(id: string, status: "executed" | "failed"): Promise<void>;
  /** The admin who created a task client (a task's write request may not be approved by them). */
  taskCreator(clientId: string): Promise<string | null>;
}

/** Per-principal, per-tool rate limit (docs/security.md). */
export interface RateLimiter {
  allow(tool: ToolDefinition): Promise<boolean>;
}

export interface Clock {
  /** Milliseconds since the epoch, for durations and row times. */
  ms(): number;
  /** The gateway's clock in seconds (approval expiries). */
  seconds(): number;
}

/** Everything a call needs besides the caller and the tool. */
export interface PipelinePorts {
  gate: CallerGate;
  audit: AuditSink;
  db: ToolDatabase;
  approvals: ApprovalStore;
  limiter: RateLimiter;
  clock: Clock;
  /** Work that must finish but not hold the response (ExecutionContext.waitUntil). */
  background(p: Promise<unknown>): void;
  /** The optional approval webhook (APPROVAL_WEBHOOK_URL); never argument values. */
  notify(body: Record<string, string>): void;
}
