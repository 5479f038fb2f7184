import { Hono } from "hono";
import type { AppEnv } from "../env";
import { authenticate } from "../mcp/authenticate";
import { nowSeconds } from "../lib/clock";
import { ADMIN_SCOPE, DEFAULT_TIER_TTL, MAX_TOKEN_TTL } from "../policy/tiers";
import { taskPrincipalId } from "../policy/compile";
import { ADMIN_GROUP } from "../oauth/consent-data";
import { oauthAuditStatement } from "../oauth/audit";
import { hashSecret, newClientId, newClientSecret } from "../oauth/secrets";
import { insertTaskClientStatement } from "../oauth/store-d1";
import { validatePolicy } from "../policy/validate";
import { currentPolicy } from "../policy/store-d1";
import { grantedTools, principalGroups } from "../policy/evaluate";
import { auditRoutes } from "./audit-routes";
import { REVOCABLE, revokeInWorkspace, type RevocableKind } from "./revoke";
import { applyPolicy, checkPolicyDocument } from "./policy-apply";
import { checkWriteStatements } from "../policy/write-check";
import { checkCredentialBindings, credentialsFrom } from "../policy/credentials";
import { parseSql } from "../guard/parser";

/**
 * Admin API (docs/console.md): bearer tokens with the gatehouse:admin scope whose principal is in the policy's
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

adminRoutes.route("/audit", auditRoutes);

// POST /admin/api/revocations {"kind": "session|user|client|task|token", "value": "…", "reason"?: "…"}
adminRoutes.post("/revocations", async (c) => {
  const raw: unknown = await c.req.json().catch(() => null);
  const body = (typeof raw === "object" && raw !== null ? raw : null) as { kind?: unknown; value?: unknown; reason?: unknown } | null;
  const kind = typeof body?.kind === "string" && Object.hasOwn(REVOCABLE, body.kind) ? (body.kind as RevocableKind) : undefined;
  if (!kind || typeof body?.value !== "string" || body.value.length === 0 || body.value.length > 254) {
    return c.json({ error: "invalid_request", error_description: 'Send {"kind": "session|user|client|task|token", "value": "…"}.' }, 400);
  }
  const reason = typeof body.reason === "string" ? body.reason.slice(0, 200) : "revoked_by_admin";
  const ws = c.get("caller").principal.workspace;
  const r = await revokeInWorkspace(c, { id: c.get("caller").principal.id, workspace: ws }, kind, body.value, reason);
  if (!r.ok) return c.json({ error: "not_found", error_description: `No ${kind} "${body.value}" in workspace "${ws}".` }, 404);
  return c.json({ revoked: { kind, value: r.value }, at: r.at });
});

// POST /admin/api/tasks {"task": "<id>", "tools": [...], "ttl_seconds"?: 600, "expires_at"?: "<ISO date>", "name"?: "…"}
// The secret is returned once and stored only as a hash.
adminRoutes.post("/tasks", async (c) => {
  const raw: unknown = await c.req.json().catch(() => null);
  const body = (typeof raw === "object" && raw !== null ? raw : null) as { task?: unknown; tools?: unknown; ttl_seconds?: unknown; expires_at?: unknown; name?: unknown } | null;
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
  const snapshot = await currentPolicy(c.env.DB, caller.principal.workspace);
  const granted = new Set(grantedTools(snapshot, { id: principal, kind: "task", groups: principalGroups(snapshot, principal, []), workspace: caller.principal.workspace }, nowSeconds()).map((t) => t.name));
  const notGranted = tools.filter((t) => !granted.has(t));
  if (notGranted.length > 0) return c.json({ error: "invalid_request", error_description: `The policy does not grant task "${task}": ${notGranted.join(", ")}.` }, 400);
  const clientId = newClientId();
  const secret = newClientSecret();
  // The client and its audit row are one transaction: no credential exists that the log does not record.
  await c.env.DB.batch([
    insertTaskClientStatement(c.env.DB, { clientId, name: typeof body?.name === "string" ? body.name.slice(0, 200) : task, secretHash: await hashSecret(secret), workspace: caller.principal.workspace, principal, tools, ttl, expiresAt, createdBy: caller.principal.id }, nowSeconds()),
    oauthAuditStatement(c, { event: "client.created", outcome: "ok", rule: "task", principal: caller.principal.id, clientId, workspace: caller.principal.workspace, detail: `${task}: ${tools.join(",")}` }),
  ]);
  c.header("Cache-Control", "no-store");
  return c.json({ client_id: clientId, client_secret: secret, task, tools, ttl_seconds: ttl, expires_at: new Date(expiresAt * 1000).toISOString() }, 201);
});

// Policy as code (docs/policy.md): validate, show, version history and apply. An admin applies to its own workspace;
// every apply is versioned in D1 and audited with the new version and hash.
adminRoutes.post("/policy/validate", async (c) => {
  const checked = validatePolicy(await c.req.json().catch(() => undefined));
  // Credential bindings are checked for the caller's own workspace only: another workspace's stay undisclosed.
  const ws = c.get("caller").principal.workspace;
  const foreign = checked.ok && checked.policy.workspace !== ws ? [{ path: "$.workspace", message: `this token administers workspace "${ws}"` }] : [];
  const errors = checked.ok ? [...(await checkWriteStatements(checked.policy, parseSql)), ...(foreign.length > 0 ? foreign : checkCredentialBindings(checked.policy, credentialsFrom(c.env)))] : checked.errors;
  return c.json(errors.length === 0 ? { ok: true } : { ok: false, errors }, errors.length === 0 ? 200 : 400);
});

adminRoutes.get("/policy", async (c) => {
  const ws = c.get("caller").principal.workspace;
  const row = await c.env.DB.prepare("SELECT version, hash, applied_at, applied_by, document FROM policy_versions WHERE workspace_id = ? ORDER BY version DESC LIMIT 1").bind(ws).first<{ version: number; hash: string; applied_at: string; applied_by: string; document: string }>();
  if (!row) return c.json({ error: "not_found", error_description: "No policy applied in this workspace." }, 404);
  return c.json({ workspace: ws, version: row.version, hash: row.hash, applied_at: row.applied_at, applied_by: row.applied_by, document: JSON.parse(row.document) as unknown });
});

adminRoutes.get("/policy/versions", async (c) => {
  const ws = c.get("caller").principal.workspace;
  const rows = await c.env.DB.prepare("SELECT version, hash, applied_at, applied_by FROM policy_versions WHERE workspace_id = ? ORDER BY version DESC LIMIT 100").bind(ws).all();
  return c.json({ workspace: ws, versions: rows.results });
});

adminRoutes.post("/policy", async (c) => {
  const caller = c.get("caller");
  const checked = await checkPolicyDocument(await c.req.json().catch(() => undefined));
  if (!checked.ok) return c.json({ error: "invalid_policy", errors: checked.errors }, 400);
  if (checked.policy.workspace !== caller.principal.workspace) {
    return c.json({ error: "invalid_request", error_description: `This token administers workspace "${caller.principal.workspace}", not "${checked.policy.workspace}".` }, 403);
  }
  // The deployment decides which database credential this workspace may use, at which tier (policy/credentials.ts).
  const credentialErrors = checkCredentialBindings(checked.policy, credentialsFrom(c.env));
  if (credentialErrors.length > 0) return c.json({ error: "invalid_policy", errors: credentialErrors }, 400);
  // The new version and its audit row are one transaction (policy-apply.ts, shared with the first-run bootstrap).
  return c.json(await applyPolicy(c, checked.policy, caller.principal.id));
});
