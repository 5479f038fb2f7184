import { Hono } from "hono";
import type { AppEnv } from "../env";
import { authenticate } from "../mcp/authenticate";
import { nowSeconds } from "../lib/clock";
import { ADMIN_SCOPE, DEFAULT_TIER_TTL, MAX_TOKEN_TTL } from "../policy/tiers";
import { taskPrincipalId, userPrincipalId } from "../policy/compile";
import { ADMIN_GROUP } from "../oauth/consent-data";
import { recordOAuthEvent } from "../oauth/audit";
import { hashSecret, newClientId, newClientSecret } from "../oauth/secrets";
import { insertTaskClient, revokeValue } from "../oauth/store-d1";

/**
 * Admin API (DESIGN §8): bearer tokens with the gatehouse:admin scope whose principal is in the policy's
 * `admins` group. Anything else is 403 without detail.
 */
export const adminRoutes = new Hono<AppEnv>();

adminRoutes.use("*", authenticate);
adminRoutes.use("*", async (c, next) => {
  const caller = c.get("caller");
  if (!caller.claims.scope.split(" ").includes(ADMIN_SCOPE) || !caller.principal.groups.includes(ADMIN_GROUP)) {
    return c.json({ error: "insufficient_scope", error_description: "Admin access required." }, 403);
  }
  await next();
});

const KINDS = { session: "session", user: "principal", client: "client", token: "token", task: "principal" } as const;

// POST /admin/api/revocations {"kind": "session|user|client|task|token", "value": "…", "reason"?: "…"}
adminRoutes.post("/revocations", async (c) => {
  const body = (await c.req.json().catch(() => null)) as { kind?: unknown; value?: unknown; reason?: unknown } | null;
  const kind = typeof body?.kind === "string" && Object.hasOwn(KINDS, body.kind) ? (body.kind as keyof typeof KINDS) : undefined;
  if (!kind || typeof body?.value !== "string" || body.value.length === 0 || body.value.length > 254) {
    return c.json({ error: "invalid_request", error_description: 'Send {"kind": "session|user|client|task|token", "value": "…"}.' }, 400);
  }
  const value = kind === "user" ? userPrincipalId(body.value.toLowerCase()) : kind === "task" ? taskPrincipalId(body.value) : body.value;
  const reason = typeof body.reason === "string" ? body.reason.slice(0, 200) : "revoked_by_admin";
  const now = nowSeconds();
  const admin = c.get("caller").principal.id;
  await revokeValue(c.env.DB, KINDS[kind], value, reason, admin, now);
  if (kind === "task") await c.env.DB.prepare("UPDATE oauth_clients SET expires_at = ? WHERE principal_id = ? AND kind = 'task'").bind(now, value).run();
  await recordOAuthEvent(c, { event: "revocation", outcome: "ok", rule: kind, principal: admin, detail: value });
  return c.json({ revoked: { kind, value }, at: now });
});

// POST /admin/api/tasks {"task": "<id>", "tools": [...], "ttl_seconds"?: 600, "expires_at"?: "<ISO date>", "name"?: "…"}
// The secret is returned once and stored only as a hash.
adminRoutes.post("/tasks", async (c) => {
  const body = (await c.req.json().catch(() => null)) as { task?: unknown; tools?: unknown; ttl_seconds?: unknown; expires_at?: unknown; name?: unknown } | null;
  const caller = c.get("caller");
  const task = typeof body?.task === "string" ? body.task : "";
  const tools = Array.isArray(body?.tools) && body.tools.every((t) => typeof t === "string") ? (body.tools as string[]) : undefined;
  const ttl = body?.ttl_seconds === undefined ? DEFAULT_TIER_TTL.read : Number(body.ttl_seconds);
  const expiresAt = body?.expires_at === undefined ? nowSeconds() + 365 * 24 * 3600 : Math.floor(Date.parse(String(body.expires_at)) / 1000);
  if (!/^[a-z][a-z0-9_-]{0,62}$/.test(task) || !tools || tools.length === 0 || !Number.isInteger(ttl) || ttl < 60 || ttl > MAX_TOKEN_TTL || !Number.isFinite(expiresAt) || expiresAt <= nowSeconds()) {
    return c.json({ error: "invalid_request", error_description: "task (id), tools (non-empty list), ttl_seconds (60–900) and a future expires_at are required." }, 400);
  }
  const principal = taskPrincipalId(task);
  const known = await c.env.DB.prepare("SELECT 1 FROM principals WHERE workspace_id = ? AND id = ?").bind(caller.principal.workspace, principal).first();
  if (!known) return c.json({ error: "invalid_request", error_description: `No task "${task}" in the workspace policy.` }, 400);
  const clientId = newClientId();
  const secret = newClientSecret();
  await insertTaskClient(c.env.DB, { clientId, name: typeof body?.name === "string" ? body.name.slice(0, 200) : task, secretHash: await hashSecret(secret), workspace: caller.principal.workspace, principal, tools, ttl, expiresAt, createdBy: caller.principal.id }, nowSeconds());
  await recordOAuthEvent(c, { event: "client.created", outcome: "ok", rule: "task", principal: caller.principal.id, clientId, workspace: caller.principal.workspace, detail: `${task}: ${tools.join(",")}` });
  c.header("Cache-Control", "no-store");
  return c.json({ client_id: clientId, client_secret: secret, task, tools, ttl_seconds: ttl, expires_at: new Date(expiresAt * 1000).toISOString() }, 201);
});
