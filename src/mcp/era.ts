import { classifyInboundRequest } from "@modelcontextprotocol/server";

/** JSON-RPC error code of MCP 2026-07-28 for request headers that disagree with the body (SEP-2243). */
export const HEADER_MISMATCH = -32020;

/** Methods whose `Mcp-Name` header mirrors a body field (MCP 2026-07-28 Streamable HTTP, standard headers). */
const NAME_SOURCE: Record<string, "name" | "uri"> = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };

export interface StandardHeaders {
  protocolVersion?: string;
  method?: string;
  name?: string;
}

/**
 * How a POST to /mcp is served, decided before any tool, grant or rate limit is looked at:
 * - `legacy`: a 2025-era message (no per-request `_meta` envelope): the `initialize` flow, stateless;
 * - `modern`: a 2026-07-28 request or notification, whose standard headers have been checked against the body,
 *   so `method` and `name` can be trusted for routing, step-up and rate limits;
 * - `reject`: the answer the protocol prescribes (status and JSON-RPC error), with the precise reason for the
 *   audit row.
 */
export type EraDecision =
  | { kind: "legacy" }
  | { kind: "modern"; method: string; name?: string; notification: boolean }
  | { kind: "reject"; status: number; code: number; message: string; reason: string };

function mismatch(reason: string, message: string): EraDecision {
  return { kind: "reject", status: 400, code: HEADER_MISMATCH, message: `Bad Request: the request headers and body disagree: ${message}`, reason };
}

/** `=?base64?…?=` carries a value that is not a plain header token (SEP-2243); anything else is the value itself. */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith("=?base64?") && value.endsWith("?="))) return value;
  const b64 = value.slice(9, -2);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/**
 * Era classification is the SDK's own (body first, cross-checked against the headers it sees); on top of it,
 * the presence rules: a modern request must carry `MCP-Protocol-Version` and `Mcp-Method`, and `Mcp-Name` where
 * the method has a name, equal to the body's. The SDK applies the same rules again when it serves the request;
 * checking here first means a mismatch is audited and never reaches the step-up and rate-limit decisions.
 */
export function decideEra(headers: StandardHeaders, body: unknown): EraDecision {
  const h = {
    ...(headers.protocolVersion !== undefined ? { protocolVersion: headers.protocolVersion.trim() } : {}),
    ...(headers.method !== undefined ? { method: headers.method.trim() } : {}),
    ...(headers.name !== undefined ? { name: headers.name.trim() } : {}),
  };
  const route = classifyInboundRequest({
    httpMethod: "POST",
    ...(h.protocolVersion !== undefined ? { protocolVersionHeader: h.protocolVersion } : {}),
    ...(h.method !== undefined ? { mcpMethodHeader: h.method } : {}),
    ...(h.name !== undefined ? { mcpNameHeader: h.name } : {}),
    body,
  });
  if (route.kind === "legacy") return { kind: "legacy" };
  if (route.kind === "reject") return { kind: "reject", status: route.httpStatus, code: route.code, message: route.message, reason: route.cell };
  const message = route.message as { method: string; params?: Record<string, unknown> };
  if (route.messageKind !== "request") return { kind: "modern", method: message.method, notification: true };
  if (h.protocolVersion === undefined) return mismatch("version-header-missing", "the required MCP-Protocol-Version header is absent");
  if (h.method === undefined) return mismatch("method-header-missing", `the body names method ${message.method} but the required Mcp-Method header is absent`);
  const field = NAME_SOURCE[message.method];
  if (field === undefined) return { kind: "modern", method: message.method, notification: false };
  const bodyValue = message.params?.[field];
  if (typeof bodyValue !== "string") return { kind: "modern", method: message.method, notification: false };
  if (h.name === undefined) return mismatch("name-header-missing", `the body carries params.${field} but the required Mcp-Name header is absent`);
  const decoded = decodeHeaderValue(h.name);
  if (decoded === undefined) return mismatch("name-header-invalid-encoding", "the Mcp-Name header carries an invalid Base64 value");
  if (decoded !== bodyValue) return mismatch("name-header-mismatch", `the body and the Mcp-Name header name different ${field}s`);
  return { kind: "modern", method: message.method, name: decoded, notification: false };
}
