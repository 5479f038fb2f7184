import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env";

/**
 * Last-resort error mapping: a generic body, never a stack trace, message, token or credential. The request id
 * lets an operator find the matching log line.
 */
export function onError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof HTTPException) return c.json({ error: "invalid_request", error_description: err.message.slice(0, 200) }, err.status);
  console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), name: err.name, code: (err as { code?: unknown }).code }));
  if (c.req.path === "/mcp") {
    return c.json({ jsonrpc: "2.0", error: { code: -32603, message: "Internal error", data: { request_id: c.get("requestId") } }, id: null }, 503);
  }
  return c.json({ error: "temporarily_unavailable", request_id: c.get("requestId") }, 503);
}
