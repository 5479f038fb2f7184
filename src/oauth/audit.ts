import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { AuditOutcome } from "../audit/event";
import { auditStatement, recordAudit } from "../audit/store-d1";
import { recordBounded } from "../audit/flood-d1";
import { ipFloodKey } from "../audit/flood";
import { clientIpKey } from "../http/client-ip";
import { requestContext } from "../http/request-context";
import { nowSeconds } from "../lib/clock";
import { randomId } from "../lib/sha256";
import { exportAuditEvent } from "../audit/otel-export";

export interface OAuthAuditFields {
  event: string;
  outcome: Exclude<AuditOutcome, "started">;
  rule?: string;
  principal?: string;
  principalKind?: string;
  clientId?: string;
  sessionId?: string;
  tokenJti?: string;
  workspace?: string;
  detail?: string;
  approvalId?: string;
  tool?: string;
}

/**
 * The row's workspace: the one the caller names, else the one the request turned out to concern (a known session,
 * code or task client, set as `auditWorkspace`). Rows with none are read by operators only (audit/visibility.ts).
 */
function withWorkspace(c: Context<AppEnv>, f: OAuthAuditFields): OAuthAuditFields {
  const workspace = f.workspace ?? c.get("auditWorkspace");
  return workspace ? { ...f, workspace } : f;
}

/** One audit row per token decision (docs/audit.md). Awaited: an OAuth decision is not answered before it is recorded. */
export async function recordOAuthEvent(c: Context<AppEnv>, f: OAuthAuditFields): Promise<void> {
  const event = { id: randomId(), time: new Date(nowSeconds() * 1000).toISOString(), ...withWorkspace(c, f) };
  const request = requestContext(c);
  await recordAudit(c.env.DB, event, request);
  exportAuditEvent(c.env, (p) => c.executionCtx.waitUntil(p), event, request);
}

/**
 * A refusal anyone can provoke without credentials (a junk /token or /register request, a failed sign-in): the
 * same row, but past the first rows a minute from one IP only counted (audit/flood.ts), so a flood cannot fill D1.
 */
export async function recordOAuthRefusal(c: Context<AppEnv>, f: OAuthAuditFields): Promise<void> {
  const event = { id: randomId(), time: new Date(nowSeconds() * 1000).toISOString(), ...withWorkspace(c, f) };
  // Not exported as telemetry: anyone can send these without credentials, and a flood must not become one at the
  // collector too; the log counts them (docs/audit.md "OpenTelemetry").
  await recordBounded(c.env, ipFloodKey(clientIpKey(c.req.header("cf-connecting-ip"))), event, requestContext(c));
}

/** The same row as a statement, to batch with the decision it records (see auditStatement). */
export function oauthAuditStatement(c: Context<AppEnv>, f: OAuthAuditFields, opts: { ifChanged?: boolean } = {}): D1PreparedStatement {
  return auditStatement(c.env.DB, { id: randomId(), time: new Date(nowSeconds() * 1000).toISOString(), ...withWorkspace(c, f) }, requestContext(c), opts);
}
