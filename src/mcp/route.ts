import type { Context } from "hono";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { AppEnv } from "../env";
import { configFor } from "../http/config";
import { requestContext } from "../http/request-context";
import { bearerChallenge } from "../oauth/metadata";
import { grantedTools, toolAccess } from "../policy/evaluate";
import { TIER_SCOPE, tiersInScope } from "../policy/tiers";
import { buildServer } from "./server";
import { auditDecision } from "./audit";
import { nowSeconds } from "../lib/clock";

/** Bodies above this are refused before parsing (JSON-RPC messages here are small). */
export const MAX_MCP_BODY_BYTES = 1024 * 1024;

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), { status, headers: { "Content-Type": "application/json" } });
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

/** POST /mcp: one fresh server and transport per request, JSON responses (MCP 2025-06-18 Streamable HTTP). */
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

  const caller = c.get("caller");
  const policyGranted = grantedTools(c.get("policy"), caller.principal, nowSeconds());
  const only = caller.claims.tools;
  const granted = only === undefined ? policyGranted : policyGranted.filter((t) => only.includes(t.name));
  const scopeTiers = tiersInScope(caller.claims.scope);

  // A granted tool outside the token's scope is a step-up case (RFC 6750 §3.1 insufficient_scope), not a tool error.
  const name = parsedOk ? toolCallName(parsed) : undefined;
  if (name !== undefined) {
    const access = toolAccess(granted, scopeTiers, name);
    if (access.kind === "out_of_scope") {
      auditDecision({ env: c.env, request: requestContext(c), waitUntil: (p) => c.executionCtx.waitUntil(p) }, caller, { event: "tool.call", outcome: "denied", rule: "insufficient_scope", tool: name });
      const scope = [...new Set([...scopeTiers.map((t) => TIER_SCOPE[t]), TIER_SCOPE[access.tool.tier]])].join(" ");
      c.header("WWW-Authenticate", bearerChallenge(config, "insufficient_scope", { scope }));
      return c.json({ error: "insufficient_scope", error_description: `This tool needs the ${TIER_SCOPE[access.tool.tier]} scope.` }, 403);
    }
  }

  const server = buildServer(caller, granted, scopeTiers, {
    env: c.env,
    issuer: config.issuer,
    request: requestContext(c),
    now: () => Date.now(),
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    neonLocalEndpoint: config.neonLocalEndpoint,
  });
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  // Let the transport answer in its own order (406/415 before the JSON-RPC parse error).
  const response = parsedOk ? await transport.handleRequest(c.req.raw, { parsedBody: parsed }) : await transport.handleRequest(new Request(c.req.raw.url, { method: "POST", headers: c.req.raw.headers, body: text }));
  // Results carry data from the database: never cached by intermediaries (RFC 9111 §5.2.2.5).
  const headers = new Headers(response.headers);
  headers.set("Cache-Control", "no-store");
  return new Response(response.body, { status: response.status, headers });
}
