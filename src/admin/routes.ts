import { Hono } from "hono";
import type { AppEnv } from "../env";
import { authenticate } from "../mcp/authenticate";
import { nowSeconds } from "../lib/clock";
import { ADMIN_SCOPE } from "../policy/tiers";
import { ADMIN_GROUP } from "../oauth/consent-data";
import { validatePolicy } from "../policy/validate";
import { headPolicyDocument, policyVersions } from "../policy/directory-d1";
import { auditRoutes } from "./audit-routes";
import { REVOCABLE, revokeInWorkspace, type RevocableKind } from "./revoke";
import { checkPolicyDocument } from "./policy-apply";
import { applyOrProposePolicy, createOrProposeTask, proposalJson } from "./proposals";
import { proposalRoutes } from "./proposals-routes";
import { TASK_SPEC_HELP, parseTaskSpec, rotateTaskSecret } from "./tasks";
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
// The secret is returned once and stored only as a hash. A client with a write tool is held for a second admin
// (202 with the proposal; the client exists, and its secret works, only once another admin approves it).
adminRoutes.post("/tasks", async (c) => {
  const caller = c.get("caller");
  const spec = parseTaskSpec(await c.req.json().catch(() => null), nowSeconds());
  if (!spec) return c.json({ error: "invalid_request", error_description: TASK_SPEC_HELP }, 400);
  const r = await createOrProposeTask(c, { id: caller.principal.id, workspace: caller.principal.workspace }, spec);
  if (!r.ok) return c.json({ error: "invalid_request", error_description: r.message }, 400);
  c.header("Cache-Control", "no-store");
  const client = { client_id: r.client.clientId, client_secret: r.secret, task: spec.task, tools: spec.tools, ttl_seconds: spec.ttl, expires_at: new Date(spec.expiresAt * 1000).toISOString() };
  if (r.proposal) return c.json({ ...client, status: "pending_approval", proposal: proposalJson(r.proposal, nowSeconds()) }, 202);
  return c.json(client, 201);
});

// POST /admin/api/tasks/<client_id>/rotate: a new secret for a live task client of the workspace, returned once.
adminRoutes.post("/tasks/:client_id/rotate", async (c) => {
  const caller = c.get("caller");
  const r = await rotateTaskSecret(c, { id: caller.principal.id, workspace: caller.principal.workspace }, c.req.param("client_id"));
  if (!r.ok) return c.json({ error: "not_found", error_description: `No live task client "${c.req.param("client_id")}" in workspace "${caller.principal.workspace}".` }, 404);
  c.header("Cache-Control", "no-store");
  return c.json({ client_id: c.req.param("client_id"), client_secret: r.secret });
});

adminRoutes.route("/proposals", proposalRoutes);

// Policy as code (docs/policy.md): validate, show, version history and apply. An admin applies to its own workspace;
// every apply is versioned in D1 and audited with the new version and hash.
adminRoutes.post("/policy/validate", async (c) => {
  const checked = validatePolicy(await c.req.json().catch(() => undefined));
  // Credential bindings are checked for the caller's own workspace only: another workspace's stay undisclosed.
  const ws = c.get("caller").principal.workspace;
  const foreign = checked.ok && checked.policy.workspace !== ws ? [{ path: "$.workspace", message: `this token administers workspace "${ws}"` }] : [];
  const errors = checked.ok
    ? [...(await checkWriteStatements(checked.policy, parseSql)), ...(foreign.length > 0 ? foreign : checkCredentialBindings(checked.policy, credentialsFrom(c.env)))]
    : checked.errors;
  return c.json(errors.length === 0 ? { ok: true } : { ok: false, errors }, errors.length === 0 ? 200 : 400);
});

adminRoutes.get("/policy", async (c) => {
  const ws = c.get("caller").principal.workspace;
  const row = await headPolicyDocument(c.env.DB, ws);
  if (!row) return c.json({ error: "not_found", error_description: "No policy applied in this workspace." }, 404);
  return c.json({ workspace: ws, version: row.version, hash: row.hash, applied_at: row.applied_at, applied_by: row.applied_by, document: JSON.parse(row.document) as unknown });
});

adminRoutes.get("/policy/versions", async (c) => {
  const ws = c.get("caller").principal.workspace;
  return c.json({ workspace: ws, versions: await policyVersions(c.env.DB, ws, 100) });
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
  // A change that widens write access waits for a second admin (two-person.ts): 202 with the proposal.
  // Otherwise the new version and its audit row are one transaction (policy-apply.ts, shared with the bootstrap).
  const r = await applyOrProposePolicy(c, { id: caller.principal.id, workspace: caller.principal.workspace }, checked.policy);
  if ("conflict" in r) return c.json({ error: "conflict", error_description: "The policy changed while applying; review the diff and apply again." }, 409);
  if (r.held) return c.json({ status: "pending_approval", proposal: proposalJson(r.proposal, nowSeconds()) }, 202);
  return c.json(r.applied);
});
