import type { Bindings, Caller } from "../env";
import { readSecret } from "../env";
import type { AuditEvent, RequestContext } from "../audit/event";
import { AuditUnavailable, completeAudit, intentStatement, recordAudit } from "../audit/store-d1";
import { exportAuditEvent } from "../audit/otel-export";
import { recordBounded, recordThrottled } from "../audit/flood-d1";
import { principalFloodKey } from "../audit/flood";
import { claimApproval, finishApproval, insertApproval, latestApproval, markRefusalReported, taskClientCreator } from "../approvals/store-d1";
import { credentialProblem, credentialsFrom } from "../policy/credentials";
import { limiterFor, rateLimitKey } from "../policy/rate-limits";
import { callerStateFrom, callerStateStatements, type CallerState } from "../policy/store-d1";
import { nowSeconds } from "../lib/clock";
import type { CallerGate, CallerVerdict, PipelinePorts } from "./ports";
import { configureNeon, runReadOnly, runWrite } from "./neon";
import { logFailure } from "../lib/background";
import { sha256Hex } from "../lib/sha256";
import type { ToolDefinition } from "../policy/types";
import { ensureLogin } from "./broker";
import { executeAsLogin } from "./dynamic-execute";
import { dynamicRoleName, importRoleKey, LOGIN_GRACE_SECONDS, loginConnectionString, loginPassword, scramVerifier } from "./dynamic-login";

/** How long creating a token's login through the broker may take before the call gives up. */
const BROKER_TIMEOUT_MS = 5000;

/** What the caller-state read means for a call decided on policy `version`. */
export function verdictOf(state: CallerState, version: number): CallerVerdict {
  if (state.revoked) return { kind: "refused", failure: { kind: "revoked", what: state.revoked } };
  if (!state.member) return { kind: "refused", failure: { kind: "bad_claims", reason: "principal_not_in_workspace" } };
  if (state.version !== version) return { kind: "stale", version: state.version };
  return { kind: "ok", ...(state.clientName ? { clientName: state.clientName } : {}) };
}

/** A gate whose caller state was read before the decision: the intent is one insert. */
export function checkedGate(db: D1Database, request: RequestContext): CallerGate {
  return {
    check: () => Promise.resolve({ kind: "ok" }),
    async admit(intent) {
      await recordAudit(db, intent, request);
      return { kind: "ok" };
    },
  };
}

/**
 * A gate for a call decided on the isolate's last known policy snapshot: the caller-state read (revocation of
 * session, token, principal and client; membership; the policy version) and the audit intent go to D1's primary
 * in one batch, one transaction, so the intent is recorded only together with a current answer about the caller.
 * A refused or stale answer leaves the intent row behind for the pipeline to mark.
 */
export function deferredGate(db: D1Database, caller: Caller, version: number, request: RequestContext): CallerGate {
  const claims = caller.claims;
  const query = { workspace: claims.ws, sessionId: claims.sid, principal: claims.sub, clientId: claims.client_id, jti: claims.jti, iat: claims.iat };
  let checked: Promise<CallerVerdict> | undefined;
  return {
    check: () => (checked ??= db.batch(callerStateStatements(db, query)).then((r) => verdictOf(callerStateFrom(r), version))),
    async admit(intent: AuditEvent) {
      let results: D1Result[];
      try {
        results = await db.batch([...callerStateStatements(db, query), intentStatement(db, intent, request)]);
      } catch (cause) {
        throw new AuditUnavailable("audit store refused the event", { cause });
      }
      return verdictOf(callerStateFrom(results), version);
    },
  };
}

/** The pipeline's ports over D1, Neon and the Workers bindings, for one request. */
export function d1Ports(deps: {
  env: Bindings;
  request: RequestContext;
  waitUntil: (p: Promise<unknown>) => void;
  neonLocalEndpoint: string | undefined;
  caller: Caller;
  gate: CallerGate;
}): PipelinePorts {
  const { env, request, caller } = deps;
  const db = env.DB;
  const floodKey = principalFloodKey(caller.principal.workspace, caller.principal.id);

  /**
   * How a tool's credential is used (policy/credentials.ts). Fail closed: a dynamic binding without a usable key, or
   * bindings that do not parse, never fall back to using the secret as it is (for a dynamic binding that is the
   * broker's own login). bindingProblem refuses such calls before their intent; this holds even if it did not.
   */
  const credentialOf = (tool: ToolDefinition): { kind: "static" } | { kind: "dynamic"; tierRole: string; key: string } | { kind: "unusable" } => {
    const credentials = credentialsFrom(env);
    if (!credentials.ok) return { kind: "unusable" };
    const dynamic = credentials.bindings.get(tool.secret)?.dynamic;
    if (!dynamic) return { kind: "static" };
    const key = env.DYNAMIC_ROLE_KEY;
    return !dynamic.unusable && key ? { kind: "dynamic", tierRole: dynamic.role, key } : { kind: "unusable" };
  };
  // The token's login per dynamic tier role, derived once per request (tools/dynamic-login.ts): no lookup anywhere.
  const logins = new Map<string, Promise<{ role: string; key: CryptoKey; password: string }>>();
  const loginOf = (tierRole: string, secret: string) => {
    let login = logins.get(tierRole);
    if (!login) {
      login = (async () => {
        const [role, key] = await Promise.all([dynamicRoleName(caller.claims.jti, tierRole), importRoleKey(secret)]);
        return { role, key, password: await loginPassword(key, role) };
      })();
      logins.set(tierRole, login);
    }
    return login;
  };

  return {
    gate: deps.gate,
    audit: {
      record: (event) => {
        exportAuditEvent(env, deps.waitUntil, event, request);
        return recordAudit(db, event, request);
      },
      recordBounded: (event) => {
        exportAuditEvent(env, deps.waitUntil, event, request);
        return recordBounded(env, floodKey, event, request);
      },
      complete: (id, completion) => completeAudit(db, id, completion),
      throttled: (intent, completion) => {
        exportAuditEvent(env, deps.waitUntil, { ...intent, ...completion }, request);
        return recordThrottled(env, floodKey, intent, completion, request);
      },
      finished: (event) => exportAuditEvent(env, deps.waitUntil, event, request),
    },
    db: {
      bindingProblem(workspace, tool) {
        const credentials = credentialsFrom(env);
        return credentials.ok ? credentialProblem(credentials.bindings, workspace, tool.secret, tool.tier)?.message : credentials.message;
      },
      hasCredential: (tool) => readSecret(env, tool.secret) !== undefined,
      async login(tool) {
        const credential = credentialOf(tool);
        return credential.kind === "dynamic" ? (await loginOf(credential.tierRole, credential.key)).role : undefined;
      },
      async execute(tool, statement) {
        // hasCredential was checked before the intent; a secret cannot disappear within a request.
        const connectionString = readSecret(env, tool.secret) ?? "";
        configureNeon(deps.neonLocalEndpoint);
        const run = (url: string) => (tool.kind === "write" ? runWrite : runReadOnly)(url, statement, tool.limits.timeoutMs, Date.now);
        const dynamic = credentialOf(tool);
        if (dynamic.kind === "static") return run(connectionString);
        if (dynamic.kind === "unusable") return { ok: false, kind: "login_failed", dbMs: 0 };
        // A dynamic credential's secret is the broker's connection string; the statement runs as the token's login.
        const login = await loginOf(dynamic.tierRole, dynamic.key);
        const url = loginConnectionString(connectionString, login.role, login.password);
        if (!url) return { ok: false, kind: "login_failed", dbMs: 0 };
        const claims = caller.claims;
        return executeAsLogin({
          run: () => run(url),
          ensure: async () => {
            const [verifier, jtiHash] = await Promise.all([scramVerifier(login.key, login.role), sha256Hex(claims.jti)]);
            const request = {
              role: login.role,
              verifier,
              tierRole: dynamic.tierRole,
              validUntil: claims.exp + LOGIN_GRACE_SECONDS,
              workspace: caller.principal.workspace,
              principal: caller.principal.id,
              clientId: claims.client_id,
              sessionId: claims.sid,
              jtiHash,
            };
            return ensureLogin(connectionString, request, BROKER_TIMEOUT_MS);
          },
          now: Date.now,
        });
      },
    },
    approvals: {
      latest: (key) => latestApproval(db, key),
      file: (request) => insertApproval(db, request),
      markRefusalReported: (id) => markRefusalReported(db, id),
      claim: (id, auditId, now) => claimApproval(db, id, auditId, now),
      finish: (id, status) => finishApproval(db, id, status),
      taskCreator: (clientId) => taskClientCreator(db, clientId),
    },
    limiter: {
      async allow(tool) {
        const { success } = await limiterFor(env, tool.limits.ratePerMinute).limit({ key: rateLimitKey(caller.principal.workspace, caller.principal.id, tool.name) });
        return success;
      },
    },
    clock: { ms: Date.now, seconds: nowSeconds },
    background: deps.waitUntil,
    notify(body) {
      const url = env.APPROVAL_WEBHOOK_URL;
      if (!url) return;
      deps.waitUntil(
        fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ event: "approval.requested", ...body }) }).catch(logFailure("approval webhook")),
      );
    },
  };
}
