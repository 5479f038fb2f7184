import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { AuditOutcome } from "../audit/event";
import { recordAudit } from "../audit/store-d1";
import { requestContext } from "../http/request-context";
import { nowSeconds } from "../lib/clock";
import { randomId } from "../lib/sha256";

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

/** One audit row per token decision (DESIGN §7). Awaited: an OAuth decision is not answered before it is recorded. */
export async function recordOAuthEvent(c: Context<AppEnv>, f: OAuthAuditFields): Promise<void> {
  await recordAudit(c.env.DB, { id: randomId(), time: new Date(nowSeconds() * 1000).toISOString(), ...f }, requestContext(c));
}
