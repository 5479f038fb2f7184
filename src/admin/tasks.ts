import type { Context } from "hono";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { DEFAULT_TIER_TTL, MAX_TOKEN_TTL } from "../policy/tiers";
import { taskPrincipalId } from "../policy/compile";
import { currentPolicy } from "../policy/store-d1";
import { isPrincipal } from "../policy/directory-d1";
import { grantedTools, principalGroups } from "../policy/evaluate";
import type { PolicySnapshot } from "../policy/types";
import { oauthAuditStatement } from "../oauth/audit";
import { hashSecret, newClientId, newClientSecret } from "../oauth/secrets";
import { insertTaskClientStatement } from "../oauth/store-d1";
import { rotateTaskSecretStatement } from "../oauth/listing-d1";

/**
 * Task clients (client_credentials automations) for the admin API and the console alike: one parse, one policy
 * check, one insert with its audit row. A client whose tools include a write tool is held for a second admin
 * (proposals.ts); its id and secret are made up front and only the secret's hash is kept.
 */

export interface TaskSpec {
  task: string;
  tools: string[];
  ttl: number;
  expiresAt: number;
  name: string;
}

/** The stored form of a task client to be created: everything but the secret, whose hash stands in for it. */
export interface TaskClientSpec extends TaskSpec {
  clientId: string;
  principal: string;
  secretHash: string;
}

export const TASK_SPEC_HELP = "task (id), tools (non-empty list), ttl_seconds (60–900) and a future expires_at are required.";

/** The admin API's body (or the console form, converted): {task, tools, ttl_seconds?, expires_at?, name?}. */
export function parseTaskSpec(raw: unknown, now: number): TaskSpec | null {
  const body = (typeof raw === "object" && raw !== null ? raw : null) as { task?: unknown; tools?: unknown; ttl_seconds?: unknown; expires_at?: unknown; name?: unknown } | null;
  const task = typeof body?.task === "string" ? body.task : "";
  const tools = Array.isArray(body?.tools) && body.tools.every((t) => typeof t === "string") ? [...new Set(body.tools as string[])] : undefined;
  const ttl = body?.ttl_seconds === undefined ? DEFAULT_TIER_TTL.read : Number(body.ttl_seconds);
  const expiresAt = body?.expires_at === undefined ? now + 365 * 24 * 3600 : Math.floor(Date.parse(String(body.expires_at)) / 1000);
  if (!/^[a-z][a-z0-9_-]{0,62}$/.test(task) || !tools || tools.length === 0 || !Number.isInteger(ttl) || ttl < 60 || ttl > MAX_TOKEN_TTL || !Number.isFinite(expiresAt) || expiresAt <= now)
    return null;
  return { task, tools, ttl, expiresAt, name: typeof body?.name === "string" && body.name.trim() ? body.name.trim().slice(0, 200) : task };
}

/** Whether the workspace's current policy names the task and grants it every tool asked for. */
export async function checkTaskSpec(
  db: D1Database,
  workspace: string,
  spec: TaskSpec,
  now: number,
): Promise<{ ok: true; snapshot: PolicySnapshot; principal: string } | { ok: false; message: string }> {
  const principal = taskPrincipalId(spec.task);
  if (!(await isPrincipal(db, workspace, principal))) return { ok: false, message: `No task "${spec.task}" in the workspace policy.` };
  const snapshot = await currentPolicy(db, workspace);
  const granted = new Set(grantedTools(snapshot, { id: principal, kind: "task", groups: principalGroups(snapshot, principal, []), workspace }, now).map((t) => t.name));
  const notGranted = spec.tools.filter((t) => !granted.has(t));
  if (notGranted.length > 0) return { ok: false, message: `The policy does not grant task "${spec.task}": ${notGranted.join(", ")}.` };
  return { ok: true, snapshot, principal };
}

/** A new client id and secret for `spec`; the secret is returned to the caller once and kept only as its hash. */
export async function newTaskClient(spec: TaskSpec, principal: string): Promise<{ client: TaskClientSpec; secret: string }> {
  const secret = newClientSecret();
  return { client: { ...spec, clientId: newClientId(), principal, secretHash: await hashSecret(secret) }, secret };
}

/** The insert of a task client and its `client.created` audit row (`createdBy` is the admin who asked for it). */
export function createTaskStatements(c: Context<AppEnv>, workspace: string, t: TaskClientSpec, createdBy: string, extra: { approvalId?: string; detail?: string } = {}): D1PreparedStatement[] {
  return [
    insertTaskClientStatement(
      c.env.DB,
      { clientId: t.clientId, name: t.name, secretHash: t.secretHash, workspace, principal: t.principal, tools: t.tools, ttl: t.ttl, expiresAt: t.expiresAt, createdBy },
      nowSeconds(),
    ),
    oauthAuditStatement(c, {
      event: "client.created",
      outcome: "ok",
      rule: "task",
      principal: createdBy,
      clientId: t.clientId,
      workspace,
      ...(extra.approvalId ? { approvalId: extra.approvalId } : {}),
      detail: `${t.task}: ${t.tools.join(",")}${extra.detail ? ` ${extra.detail}` : ""}`,
    }),
  ];
}

/**
 * A new secret for a live task client of the workspace (shown once, stored as its hash). Not held: it grants
 * nothing new, and the old secret stops working at once. The change and its audit row are one transaction.
 */
export async function rotateTaskSecret(c: Context<AppEnv>, admin: { id: string; workspace: string }, clientId: string): Promise<{ ok: true; secret: string } | { ok: false }> {
  const secret = newClientSecret();
  const now = nowSeconds();
  const [updated] = await c.env.DB.batch([
    rotateTaskSecretStatement(c.env.DB, { workspace: admin.workspace, clientId, secretHash: await hashSecret(secret), now }),
    oauthAuditStatement(c, { event: "client.rotated", outcome: "ok", rule: "task", principal: admin.id, clientId, workspace: admin.workspace, detail: "new client secret" }, { ifChanged: true }),
  ]);
  return (updated?.meta.changes ?? 0) === 1 ? { ok: true, secret } : { ok: false };
}
