import { describe, expect, it } from "vitest";
import { logRecord, parseOtlpHeaders, querySummary, toolCallSpan } from "../../../src/audit/otel";
import type { AuditEvent } from "../../../src/audit/event";

const call: AuditEvent = {
  id: "a1",
  time: "2026-11-29T10:00:00.000Z",
  event: "tool.call",
  outcome: "ok",
  principal: "user:wes@example.com",
  principalKind: "user",
  workspace: "demo",
  clientId: "c1",
  tool: "my_opportunities",
  toolVersion: "0cef61692a5de262",
  dbRole: "reporting",
  sqlText: "SELECT id FROM reporting.opportunities WHERE owner_email = $1 AND stage = 'secret-stage'",
  sqlHash: "ab".repeat(32),
  paramCount: 2,
  params: { stage: "proposal-secret-value" },
  rows: 2,
  bytes: 182,
  durationMs: 42,
  dbMs: 29,
  detail: "detail-secret",
};
const attrs = (list: Array<{ key: string; value: Record<string, unknown> }>) => Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]]));

describe("audit events as OpenTelemetry data", () => {
  it("summarises a query by operation and tables, never by its literals", () => {
    expect(querySummary(call.sqlText)).toBe("SELECT reporting.opportunities");
    expect(querySummary("select * from a join b.c on true where x = 'from evil' -- from comment")).toBe("SELECT a b.c");
    expect(querySummary("UPDATE crm.opportunities SET stage = $1 WHERE id = $2 RETURNING id")).toBe("UPDATE crm.opportunities");
    expect(querySummary("SELECT $$ from hidden $$")).toBe("SELECT");
    expect(querySummary(undefined)).toBeUndefined();
  });

  it("makes a log record with semantic-convention attributes and no parameter values, SQL text, details or results", () => {
    const rec = logRecord({ event: call, request: { requestId: "r1", traceId: "0af7651916cd43dd8448eb211c80319c" }, spanId: "b7ad6b7169203331" }, Date.parse("2026-11-29T10:00:01Z"));
    expect(rec).toMatchObject({ timeUnixNano: "1795946400000000000", severityText: "INFO", traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" });
    expect(attrs(rec.attributes)).toMatchObject({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "my_opportunities",
      "db.system.name": "postgresql",
      "db.query.summary": "SELECT reporting.opportunities",
      "gatehouse.audit.outcome": "ok",
      "db.response.returned_rows": "2",
    });
    const text = JSON.stringify(rec);
    for (const secret of ["proposal-secret-value", "secret-stage", "owner_email", "detail-secret", "182"]) expect(text).not.toContain(secret);
  });

  it("makes a server span per tool call in the client's trace, an error status on error", () => {
    const span = toolCallSpan({
      event: { ...call, outcome: "error", sqlstate: "42501", rule: "permission_denied" },
      request: { requestId: "r1", traceId: "0af7651916cd43dd8448eb211c80319c" },
      spanId: "b7ad6b7169203331",
    });
    expect(span).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", name: "tools/call my_opportunities", kind: 2, status: { code: 2 } });
    expect(BigInt(span!.endTimeUnixNano) - BigInt(span!.startTimeUnixNano)).toBe(42_000_000n);
    expect(attrs(span!.attributes)["error.type"]).toBe("permission_denied");
    expect(toolCallSpan({ event: { ...call, event: "tools.list" }, request: { requestId: "r" }, spanId: "b7ad6b7169203331", fallbackTraceId: "1".repeat(32) })).toBeUndefined();
  });

  it("names a dynamic credential's Postgres login beside the database role, and no login for a static one", () => {
    const dynamic = logRecord({ event: { ...call, dbLogin: "gh_0123456789abcdef" }, request: { requestId: "r1" }, spanId: "b7ad6b7169203331" }, 0);
    expect(attrs(dynamic.attributes)).toMatchObject({ "gatehouse.db.role": "reporting", "gatehouse.db.login": "gh_0123456789abcdef" });
    expect(attrs(logRecord({ event: call, request: { requestId: "r1" }, spanId: "b7ad6b7169203331" }, 0).attributes)).not.toHaveProperty("gatehouse.db.login");
  });

  it("reads OTEL_EXPORTER_OTLP_HEADERS as percent-decoded key=value pairs", () => {
    expect(parseOtlpHeaders("api-key=abc%3D1, x-team = core,broken,=x")).toEqual({ "api-key": "abc=1", "x-team": "core" });
  });
});
