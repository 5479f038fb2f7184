import type { Caller } from "../env";
import type { AuditOutcome, RequestContext } from "../audit/event";
import { recordBounded } from "../audit/flood-d1";
import { principalFloodKey } from "../audit/flood";
import { nowSeconds } from "../lib/clock";
import { randomId } from "../lib/sha256";
import { callerFields } from "../audit/caller-fields";
import { exportAuditEvent, type OtelEnv } from "../audit/otel-export";
import { logFailure } from "../lib/background";

/**
 * A decision on /mcp that runs no tool (a listing, a refusal before execution): recorded without holding the
 * response, and past the caller's first rows of a minute only counted (audit/flood.ts), so listings and unknown or
 * throttled tools cannot grow D1 without bound. Tool calls that execute record their intent durably first instead
 * (tools/pipeline.ts).
 */
export function auditDecision(
  deps: { env: { DB: D1Database; RL_60: RateLimit } & OtelEnv; request: RequestContext; waitUntil: (p: Promise<unknown>) => void },
  caller: Caller,
  f: { event: string; outcome: Exclude<AuditOutcome, "started">; rule?: string; tool?: string; detail?: string },
): void {
  const event = { id: randomId(), time: new Date(nowSeconds() * 1000).toISOString(), ...callerFields(caller), ...f };
  exportAuditEvent(deps.env, deps.waitUntil, event, deps.request);
  deps.waitUntil(recordBounded(deps.env, principalFloodKey(caller.principal.workspace, caller.principal.id), event, deps.request).catch(logFailure("mcp decision audit")));
}
