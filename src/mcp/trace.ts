/**
 * The W3C Trace Context trace id of a request (https://www.w3.org/TR/trace-context/ §3.2), from the
 * `traceparent` HTTP header or, on MCP 2026-07-28, the request's `_meta.traceparent`. Only the 32-hex trace id
 * is kept: it joins the client's trace, the audit row and the SQL comment Postgres logs. Malformed, all-zero or
 * version-ff values are ignored, as the spec asks.
 */
export function traceIdOf(header: string | undefined, body: unknown): { traceId?: string } {
  const fromMeta = (() => {
    if (typeof body !== "object" || body === null) return undefined;
    const meta = (body as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
    const v = meta?.traceparent;
    return typeof v === "string" ? v : undefined;
  })();
  for (const candidate of [header, fromMeta]) {
    const id = parseTraceparent(candidate);
    if (id) return { traceId: id };
  }
  return {};
}

export function parseTraceparent(value: string | undefined): string | undefined {
  if (!value || value.length > 100) return undefined;
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/.exec(value.trim());
  if (!m || m[1] === "ff" || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return m[2];
}
