import type { Context } from "hono";
import { createMcpHandler, ProtocolError, ProtocolErrorCode, Server, WebStandardStreamableHTTPServerTransport, type McpRequestContext } from "@modelcontextprotocol/server";
import type { AppEnv, Caller } from "../env";
import { configFor } from "../http/config";
import { requestContext } from "../http/request-context";
import { bearerChallenge } from "../oauth/metadata";
import { toolAccess, visibleTools } from "../policy/evaluate";
import { lastKnownPolicy } from "../policy/store-d1";
import type { PolicySnapshot, ToolDefinition } from "../policy/types";
import type { CallerGate } from "../tools/ports";
import { checkedGate, deferredGate } from "../tools/ports-d1";
import { callerOf, resolveCaller, unauthorized } from "./authenticate";
import { decide, deferrable, serveAllowed, type CallScope, type Decision, type Escape } from "./call";
import { toMcpTool } from "./tool-listing";
import { TIER_SCOPE, tiersInScope } from "../policy/tiers";
import { buildServer } from "./server";
import { auditDecision } from "./audit";
import { decideEra } from "./era";
import { traceIdOf } from "./trace";
import { nowSeconds } from "../lib/clock";

/** Bodies above this are refused before parsing (JSON-RPC messages here are small). */
export const MAX_MCP_BODY_BYTES = 1024 * 1024;

function jsonRpcError(status: number, code: number, message: string, id: string | number | null = null): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id }), { status, headers: { "Content-Type": "application/json" } });
}

/** The request's JSON-RPC id, echoed on its error (JSON-RPC 2.0 §5: null only when it cannot be read). */
function requestId(body: unknown): string | number | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const id = (body as { id?: unknown }).id;
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null;
}

/** The stateless transport's GET opens a never-ending stream and its DELETE answers 200: neither applies here. */
export function methodNotAllowed(): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: use POST" }, id: null }), {
    status: 405,
    headers: { Allow: "POST", "Content-Type": "application/json" },
  });
}

function toolCallName(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const m = body as { method?: unknown; params?: { name?: unknown } };
  return m.method === "tools/call" && typeof m.params?.name === "string" ? m.params.name : undefined;
}

/**
 * The 2026-07-28 side of /mcp: one handler per isolate. Gatehouse has already authenticated the caller and built
 * the request's server (only the caller's granted tools); it travels to the factory inside `authInfo`, which the
 * SDK passes through untouched. JSON answers: a tool call emits no progress, so nothing is lost by not streaming.
 */
const modernHandler = createMcpHandler(
  (ctx: McpRequestContext) => {
    const server = ctx.authInfo?.extra?.["gatehouse/server"];
    if (!(server instanceof Server)) throw new Error("no server for this request");
    return server;
  },
  { legacy: "reject", responseMode: "json" },
);

/**
 * POST /mcp, both protocol eras on one URL, stateless:
 * - MCP 2026-07-28 (a `_meta` envelope per request, `server/discover`, standard headers checked against the body);
 * - 2025-era clients (`initialize`, then requests without an envelope), answered as JSON as before.
 */
export async function handleMcp(c: Context<AppEnv>): Promise<Response> {
  const config = configFor(c.env);
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_MCP_BODY_BYTES) return jsonRpcError(413, -32600, "Request body too large");
  const text = await c.req.text();
  if (text.length > MAX_MCP_BODY_BYTES) return jsonRpcError(413, -32600, "Request body too large");

  let parsed: unknown;
  let parsedOk = true;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsedOk = false;
  }

  // JSON-RPC batching was removed from MCP in 2025-06-18; one message per request keeps every call rate limited
  // and audited on its own.
  if (parsedOk && Array.isArray(parsed)) return jsonRpcError(400, -32600, "Invalid Request: batching is not supported; send one message per request");

  const claims = c.get("claims");
  const request = { ...requestContext(c), ...traceIdOf(c.req.header("traceparent"), parsedOk ? parsed : undefined) };
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  const auditDeps = { env: c.env, request, waitUntil };

  // Era and standard headers first: a modern request whose Mcp-Method or Mcp-Name disagrees with its body (or is
  // missing) is refused here, audited, and never reaches a grant, step-up or rate-limit decision.
  const era = parsedOk
    ? decideEra({ protocolVersion: c.req.header("mcp-protocol-version"), method: c.req.header("mcp-method"), name: c.req.header("mcp-name") }, parsed)
    : ({ kind: "legacy" } as const);
  // A granted tool outside the token's scope is a step-up case (RFC 6750 §3.1 insufficient_scope), not a tool
  // error. On a modern request the name comes from the checked Mcp-Name header.
  const name = era.kind === "modern" ? (era.method === "tools/call" ? era.name : undefined) : era.kind === "legacy" && parsedOk ? toolCallName(parsed) : undefined;
  const now = nowSeconds();
  const scopeTiers = tiersInScope(claims.scope);

  // Decide once. An allowed read or execute_sql call is decided on the isolate's last known policy snapshot and
  // its caller-state read joins the audit intent's round trip (mcp/call.ts); everything else reads the caller's
  // state first (one round trip), and is decided on the version that read found.
  const known = name !== undefined ? lastKnownPolicy(claims.ws) : undefined;
  const knownCaller = known ? callerOf(claims, known) : undefined;
  const optimistic = known && knownCaller ? decide(known, knownCaller, scopeTiers, name, now) : undefined;
  let caller: Caller;
  let policy: PolicySnapshot;
  let decision: Decision | undefined;
  let gate: CallerGate;
  if (known && knownCaller && deferrable(optimistic)) {
    caller = knownCaller;
    policy = known;
    decision = optimistic;
    gate = deferredGate(c.env.DB, caller, known.version, request);
  } else {
    const resolved = await resolveCaller(c, claims);
    if (!resolved.ok) return resolved.response;
    ({ caller, policy } = resolved);
    if (era.kind === "reject") {
      auditDecision(auditDeps, caller, { event: "mcp.request", outcome: "denied", rule: `protocol:${era.reason}` });
      return jsonRpcError(era.status, era.code, era.message, requestId(parsed));
    }
    decision = decide(policy, caller, scopeTiers, name, now);
    gate = checkedGate(c.env.DB, request);
  }
  const stepUp = (tool: ToolDefinition): Response => {
    auditDecision(auditDeps, caller, { event: "tool.call", outcome: "denied", rule: "insufficient_scope", tool: tool.name });
    const scope = [...new Set([...scopeTiers.map((t) => TIER_SCOPE[t]), TIER_SCOPE[tool.tier]])].join(" ");
    c.header("WWW-Authenticate", bearerChallenge(config, "insufficient_scope", { scope }));
    return c.json({ error: "insufficient_scope", error_description: `This tool needs the ${TIER_SCOPE[tool.tier]} scope.` }, 403);
  };
  if (decision?.access?.kind === "out_of_scope") return stepUp(decision.access.tool);

  let escaped: Escape | undefined;
  const scope: CallScope = { env: c.env, issuer: config.issuer, request, waitUntil, neonLocalEndpoint: config.neonLocalEndpoint, claims, scopeTiers, now };
  const granted = decision?.granted ?? decide(policy, caller, scopeTiers, undefined, now).granted;
  const server = buildServer(
    {
      list() {
        const tools = visibleTools(granted, scopeTiers);
        auditDecision(auditDeps, caller, { event: "tools.list", outcome: "ok", detail: tools.map((t) => t.name).join(",") });
        return tools.map(toMcpTool);
      },
      async call(called, args) {
        // The SDK hands over the body's name, which the decision above was taken for (the era check made the
        // Mcp-Name header agree with it).
        const access = decision?.access?.name === called ? decision.access : toolAccess(granted, scopeTiers, called);
        if (access.kind !== "allowed") {
          auditDecision(auditDeps, caller, { event: "tool.call", outcome: "denied", rule: access.kind, tool: called.slice(0, 64) });
          throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${called.slice(0, 64)}`);
        }
        return serveAllowed(scope, caller, access.tool, gate, args, (e) => (escaped = e));
      },
    },
    { tokenExp: claims.exp, policyVersion: policy.version, now },
  );

  let response: Response;
  if (era.kind === "modern") {
    const authInfo = { token: "", clientId: claims.client_id, scopes: claims.scope.split(" "), expiresAt: claims.exp, extra: { "gatehouse/server": server } };
    response = await modernHandler.fetch(c.req.raw, { parsedBody: parsed, authInfo });
  } else {
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    // Let the transport answer in its own order (406/415 before the JSON-RPC parse error).
    response = parsedOk
      ? await transport.handleRequest(c.req.raw, { parsedBody: parsed })
      : await transport.handleRequest(new Request(c.req.raw.url, { method: "POST", headers: c.req.raw.headers, body: text }));
  }
  // A call that turned out unauthorized (revoked in the same round trip as its intent) or in need of a step-up
  // is answered at the HTTP layer, whatever the SDK made of its placeholder result.
  if (escaped?.kind === "unauthorized") return unauthorized(c, escaped.failure, claims.ws, { audited: escaped.audited });
  if (escaped?.kind === "step_up") return stepUp(escaped.tool);
  // Results carry data from the database: never cached by intermediaries (RFC 9111 §5.2.2.5). A 2026-07-28 list's
  // cache hint is for the requesting client only (cacheScope "private").
  const headers = new Headers(response.headers);
  headers.set("Cache-Control", "no-store");
  return new Response(response.body, { status: response.status, headers });
}
