import { ProtocolError, ProtocolErrorCode, type CallToolResult } from "@modelcontextprotocol/server";
import type { Bindings, Caller } from "../env";
import type { RequestContext } from "../audit/event";
import type { AccessClaims } from "../oauth/claims";
import type { TokenFailure } from "../oauth/errors";
import { grantedTools, toolAccess, type ToolAccess } from "../policy/evaluate";
import { policyAt } from "../policy/store-d1";
import type { Tier } from "../policy/tiers";
import type { PolicySnapshot, ToolDefinition } from "../policy/types";
import { guardSql } from "../guard/index";
import { runToolCall, toolError } from "../tools/pipeline";
import type { CallerGate } from "../tools/ports";
import { checkedGate, d1Ports } from "../tools/ports-d1";
import { callerOf } from "./authenticate";
import { auditDecision } from "./audit";

/** The decision stage, taken once per request: the tools granted right now and, for a tool call, its access. */
export interface Decision {
  granted: ToolDefinition[];
  /** For a tools/call: granted and in scope, granted but needing a step-up, or not granted. */
  access?: ToolAccess & { name: string };
}

/** Grant (policy, expiry, a task token's own tool list) and scope, for the caller on one policy snapshot. */
export function decide(policy: PolicySnapshot, caller: Caller, scopeTiers: readonly Tier[], name: string | undefined, now: number): Decision {
  const policyGranted = grantedTools(policy, caller.principal, now);
  const only = caller.claims.tools;
  const granted = only === undefined ? policyGranted : policyGranted.filter((t) => only.includes(t.name));
  return { granted, ...(name !== undefined ? { access: { ...toolAccess(granted, scopeTiers, name), name } } : {}) };
}

/**
 * Whether a call may be decided before the caller's state is read: an allowed read or execute_sql call, whose
 * state read then travels with its audit intent in one round trip. Writes read approvals first, and every
 * refusal still answers a revoked caller with 401, so they read the state up front.
 */
export function deferrable(decision: Decision | undefined): boolean {
  return decision?.access?.kind === "allowed" && decision.access.tool.kind !== "write";
}

/** A call that ended at the HTTP layer instead of with an MCP result (a 401, or a step-up 403). */
export type Escape = { kind: "unauthorized"; failure: TokenFailure; audited: boolean } | { kind: "step_up"; tool: ToolDefinition };

export interface CallScope {
  env: Bindings;
  issuer: string;
  request: RequestContext;
  waitUntil: (p: Promise<unknown>) => void;
  neonLocalEndpoint: string | undefined;
  claims: AccessClaims;
  scopeTiers: readonly Tier[];
  now: number;
}

/**
 * Runs an allowed call through the pipeline. When the pipeline finds the decision stale (the policy changed
 * since the isolate's snapshot), the call is decided again, once, on the version the caller-state read found,
 * with the state that read confirmed; its first intent row records why it did not run.
 */
export async function serveAllowed(s: CallScope, caller: Caller, tool: ToolDefinition, gate: CallerGate, args: unknown, escapeTo: (e: Escape) => void): Promise<CallToolResult> {
  const ports = (who: Caller, g: CallerGate) => d1Ports({ env: s.env, request: s.request, waitUntil: s.waitUntil, neonLocalEndpoint: s.neonLocalEndpoint, caller: who, gate: g });
  const context = (who: Caller) => ({ caller: who, issuer: s.issuer, guard: guardSql, ...(s.request.traceId ? { traceId: s.request.traceId } : {}) });
  let outcome = await runToolCall(ports(caller, gate), context(caller), tool, args);
  if (outcome.kind === "stale") {
    const policy = await policyAt(s.env.DB, s.claims.ws, outcome.version);
    const again = callerOf(s.claims, policy, caller.clientName);
    const access = decide(policy, again, s.scopeTiers, tool.name, s.now).access;
    if (access?.kind === "out_of_scope") {
      escapeTo({ kind: "step_up", tool: access.tool });
      return toolError("");
    }
    if (access?.kind !== "allowed") {
      auditDecision({ env: s.env, request: s.request, waitUntil: s.waitUntil }, again, { event: "tool.call", outcome: "denied", rule: access?.kind ?? "not_granted", tool: tool.name });
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${tool.name.slice(0, 64)}`);
    }
    outcome = await runToolCall(ports(again, checkedGate(s.env.DB, s.request)), context(again), access.tool, args);
  }
  switch (outcome.kind) {
    case "result":
      return outcome.result;
    case "unauthorized":
      escapeTo(outcome);
      return toolError("");
    case "stale":
      // A checked gate is never stale.
      return toolError("The workspace policy changed during this call. Nothing was run. Call again.");
  }
}
