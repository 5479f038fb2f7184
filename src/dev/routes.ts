import { Hono } from "hono";
import type { AppEnv } from "../env";
import { configFor } from "../http/config";
import { loadKeyRing } from "../oauth/keys";
import { buildAccessClaims } from "../oauth/claims";
import { signAccessToken } from "../oauth/access-token";
import { validatePolicy } from "../policy/validate";
import { compilePolicy, userPrincipalId, taskPrincipalId } from "../policy/compile";
import { applyCompiledPolicy, currentPolicy } from "../policy/store-d1";
import { grantedTools, principalGroups } from "../policy/evaluate";
import { scopeForTiers, tiersInScope, TIERS, TIER_SCOPE } from "../policy/tiers";
import { randomId, sha256Hex } from "../lib/sha256";
import { nowSeconds, setDevClockOffset } from "../lib/clock";
import { ADMIN_SCOPE, APPROVE_SCOPE } from "../policy/tiers";
import { ADMIN_GROUP } from "../oauth/consent-data";
import { hashSecret, sameDigest } from "../oauth/secrets";
import { recordOAuthEvent } from "../oauth/audit";
import { deleteUnsealedEvents, recordAudit } from "../audit/store-d1";
import { upsertDevTaskClient } from "../oauth/listing-d1";
import { findPrincipal } from "../policy/directory-d1";
import { checkWriteStatements } from "../policy/write-check";
import { checkCredentialBindings, credentialsFrom } from "../policy/credentials";
import { parseSql } from "../guard/parser";

/**
 * Development helpers. They exist only when the issuer is a loopback URL and DEV_ENDPOINTS is "true"
 * (http/config.ts); everywhere else every path here is a 404.
 */
export const devRoutes = new Hono<AppEnv>();

/**
 * Besides the loopback gate, the dev stack sets DEV_SECRET and its tools send it in X-Gatehouse-Dev-Secret: a
 * dev Worker that becomes reachable from elsewhere (a port forward, --ip 0.0.0.0) still mints nothing.
 */
devRoutes.use("*", async (c, next) => {
  if (!configFor(c.env).devEndpoints) return c.json({ error: "not_found" }, 404);
  const expected = c.env.DEV_SECRET;
  if (expected && !sameDigest(await sha256Hex(c.req.header("x-gatehouse-dev-secret") ?? ""), await sha256Hex(expected))) return c.json({ error: "not_found" }, 404);
  await next();
});

/** Applies a policy document (JSON) to local D1. The CLI and admin API replace this in production. */
devRoutes.post("/policy", async (c) => {
  const body = await c.req.json().catch(() => undefined);
  const checked = validatePolicy(body);
  if (!checked.ok) return c.json({ error: "invalid_policy", errors: checked.errors }, 400);
  const writeErrors = [...(await checkWriteStatements(checked.policy, parseSql)), ...checkCredentialBindings(checked.policy, credentialsFrom(c.env))];
  if (writeErrors.length > 0) return c.json({ error: "invalid_policy", errors: writeErrors }, 400);
  const compiled = await compilePolicy(checked.policy);
  const version = await applyCompiledPolicy(c.env.DB, compiled, JSON.stringify(checked.policy), "dev", new Date(nowSeconds() * 1000));
  await recordOAuthEvent(c, { event: "policy.applied", outcome: "ok", principal: "dev", workspace: compiled.workspace, detail: `version ${version} ${compiled.hash.slice(0, 16)}` });
  return c.json({ workspace: compiled.workspace, version, tools: compiled.tools.length, grants: compiled.grants.length });
});

/**
 * Mints an access token for a demo principal, scoped to the tiers its grants need (or fewer, with `scope`).
 * Body: {"user": "<email>"} or {"task": "<id>"}, optional "workspace", "scope", "ttl" (seconds, capped by tier).
 */
devRoutes.post("/token", async (c) => {
  const raw: unknown = await c.req.json().catch(() => ({}));
  const body = (typeof raw === "object" && raw !== null ? raw : {}) as { user?: unknown; task?: unknown; workspace?: unknown; scope?: unknown; ttl?: unknown };
  const config = configFor(c.env);
  let principalId: string;
  if (typeof body.user === "string") principalId = userPrincipalId(body.user.toLowerCase());
  else if (typeof body.task === "string") principalId = taskPrincipalId(body.task);
  else return c.json({ error: "invalid_request", error_description: 'Send {"user": "<email>"} or {"task": "<id>"}' }, 400);

  const row = await findPrincipal(c.env.DB, principalId, typeof body.workspace === "string" ? body.workspace : null);
  if (!row) return c.json({ error: "unknown_principal", error_description: `No principal ${principalId} in the applied policy` }, 404);

  const snapshot = await currentPolicy(c.env.DB, row.workspace_id);
  const now = nowSeconds();
  const principal = { id: principalId, kind: row.kind, groups: principalGroups(snapshot, principalId, []), workspace: row.workspace_id, ...(row.email ? { email: row.email } : {}) };
  const grantedTiers = new Set(grantedTools(snapshot, principal, now).map((t) => t.tier));
  const requested = typeof body.scope === "string" ? tiersInScope(body.scope) : [...grantedTiers];
  const tiers = requested.filter((t) => grantedTiers.has(t));
  const admin = typeof body.scope === "string" && body.scope.split(" ").includes(ADMIN_SCOPE) && principal.groups.includes(ADMIN_GROUP);
  const approverGroups = new Set([...snapshot.tools.values()].map((t) => t.approverGroup).filter((g): g is string => g !== undefined));
  const approver = typeof body.scope === "string" && body.scope.split(" ").includes(APPROVE_SCOPE) && principal.groups.some((g) => approverGroups.has(g));
  if (tiers.length === 0 && !admin && !approver)
    return c.json(
      {
        error: "invalid_scope",
        error_description: `Nothing granted in scope; available: ${
          TIERS.filter((t) => grantedTiers.has(t))
            .map((t) => TIER_SCOPE[t])
            .join(" ") || "none"
        }`,
      },
      400,
    );
  const scope = [scopeForTiers(tiers), admin ? ADMIN_SCOPE : "", approver ? APPROVE_SCOPE : ""].filter(Boolean).join(" ");

  const ring = await loadKeyRing(c.env.SIGNING_KEY, c.env.SIGNING_KEY_PREVIOUS);
  const claims = buildAccessClaims(
    { sub: principalId, kind: row.kind, ...(row.email ? { email: row.email } : {}), workspace: row.workspace_id, clientId: "gatehouse-dev", sessionId: randomId(), scope },
    { issuer: config.issuer, resource: config.resource, now, jti: randomId() },
    typeof body.ttl === "number" && Number.isInteger(body.ttl) && body.ttl > 0 ? body.ttl : undefined,
  );
  const token = await signAccessToken(claims, ring);
  c.header("Cache-Control", "no-store");
  return c.json({ access_token: token, token_type: "Bearer", expires_in: claims.exp - claims.iat, scope });
});

/** Moves the gateway's clock (seconds, relative to real time) so tests can pass expiries without sleeping. */
devRoutes.post("/clock", async (c) => {
  const raw: unknown = await c.req.json().catch(() => ({}));
  const body = (typeof raw === "object" && raw !== null ? raw : {}) as { offset_seconds?: unknown };
  const offset = Number(body.offset_seconds ?? 0);
  if (!Number.isInteger(offset) || Math.abs(offset) > 30 * 24 * 3600) return c.json({ error: "invalid_request" }, 400);
  setDevClockOffset(offset);
  return c.json({ offset_seconds: offset, now: nowSeconds() });
});

/**
 * Creates or replaces a task client with a known id and secret (the dev stack keeps them in .data/secrets.json
 * so the demo task's credentials stay the same across restarts). Production uses POST /admin/api/tasks.
 */
devRoutes.post("/task-client", async (c) => {
  const raw: unknown = await c.req.json().catch(() => ({}));
  const body = (typeof raw === "object" && raw !== null ? raw : {}) as { task?: unknown; workspace?: unknown; client_id?: unknown; client_secret?: unknown; tools?: unknown; ttl_seconds?: unknown };
  if (typeof body.task !== "string" || typeof body.workspace !== "string" || typeof body.client_id !== "string" || typeof body.client_secret !== "string" || !Array.isArray(body.tools)) {
    return c.json({ error: "invalid_request" }, 400);
  }
  const now = nowSeconds();
  await upsertDevTaskClient(c.env.DB, {
    clientId: body.client_id,
    task: body.task,
    secretHash: await hashSecret(body.client_secret),
    workspace: body.workspace,
    principal: taskPrincipalId(body.task),
    tools: body.tools,
    ttl: Number(body.ttl_seconds ?? 600),
    expiresAt: now + 365 * 24 * 3600,
    now,
  });
  return c.json({ client_id: body.client_id });
});

/**
 * Measures, inside the runtime, how long the audit intent takes: `n` awaited inserts of a representative row
 * (then deleted). Used by `npm run bench` to report the audit cost per call.
 */
devRoutes.post("/bench/audit-insert", async (c) => {
  const n = Math.min(1000, Math.max(1, Number(new URL(c.req.url).searchParams.get("n") ?? 100)));
  const ids: string[] = [];
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    const id = `bench-${randomId()}`;
    ids.push(id);
    await recordAudit(
      c.env.DB,
      {
        id,
        time: new Date().toISOString(),
        event: "bench.audit_insert",
        outcome: "ok",
        principal: "bench",
        tool: "revenue_summary",
        sqlText: "SELECT 1",
        sqlHash: "0".repeat(64),
        paramCount: 1,
        params: { region: "[redacted]" },
      },
      { requestId: "bench" },
    );
  }
  const ms = Date.now() - started;
  await deleteUnsealedEvents(c.env.DB, "bench.audit_insert");
  return c.json({ n, ms_per_insert: ms / n });
});
