import { describe, expect, inject, it } from "vitest";
import { devToken } from "../support/mcp-client";
import type { OtlpRequest } from "../support/otlp-receiver";

const e2e = inject("e2e");

// The stack exports audit telemetry to the loopback OTLP receiver of global-setup.ts (OTEL_EXPORTER_OTLP_ENDPOINT,
// headers from OTEL_EXPORTER_OTLP_HEADERS); docs/audit.md "OpenTelemetry".

type Attr = { key: string; value: Record<string, unknown> };
type Log = { traceId?: string; spanId?: string; attributes: Attr[] };
type Span = { traceId: string; spanId: string; name: string; kind: number; attributes: Attr[] };
const attrs = (list: Attr[]) => Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]]));

async function received(): Promise<OtlpRequest[]> {
  return (await (await fetch(`${e2e.otlpUrl}/received`)).json()) as OtlpRequest[];
}

describe("OpenTelemetry export of audit events", () => {
  it("sends a log record per audit event and a span per tool call in the client's trace, with the configured headers and no parameter values or SQL", async () => {
    const traceId = crypto.randomUUID().replace(/-/g, "");
    const token = await devToken(e2e, { user: "wes@example.com" });
    const res = await fetch(e2e.mcpUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream", traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "pipeline_coverage", arguments: { quarter: "2026-Q3" } } }),
    });
    expect(res.status).toBe(200);
    await res.text();
    // A listing runs nothing: a log record of its own (in the same trace), no span.
    const listing = await fetch(e2e.mcpUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream", traceparent: `00-${traceId}-b7ad6b7169203332-01` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    expect(listing.status).toBe(200);
    await listing.text();

    // Exported after the response (waitUntil): poll the receiver briefly.
    let logs: Log[] = [];
    let spans: Span[] = [];
    let requests: OtlpRequest[] = [];
    for (let i = 0; i < 50 && (logs.length < 2 || spans.length === 0); i++) {
      requests = await received();
      logs = requests
        .filter((r) => r.path === "/v1/logs")
        .flatMap((r) => (r.body as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Log[] }> }> }).resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)))
        .filter((l) => l.traceId === traceId);
      spans = requests
        .filter((r) => r.path === "/v1/traces")
        .flatMap((r) => (r.body as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Span[] }> }> }).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)))
        .filter((s) => s.traceId === traceId);
      if (logs.length < 2 || spans.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(logs.map((l) => attrs(l.attributes)["mcp.method.name"]).sort()).toEqual(["tools/call", "tools/list"]);
    const call = logs.find((l) => attrs(l.attributes)["mcp.method.name"] === "tools/call")!;
    expect(attrs(call.attributes)).toMatchObject({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "pipeline_coverage",
      "db.system.name": "postgresql",
      "gatehouse.audit.outcome": "ok",
      "gatehouse.workspace": "demo",
    });
    expect(String(attrs(call.attributes)["db.query.summary"])).toMatch(/^SELECT reporting\./);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ name: "tools/call pipeline_coverage", kind: 2, spanId: call.spanId });
    expect(requests.find((r) => r.path === "/v1/logs")!.headers["x-otlp-token"]).toBe("e2e secret");
    const everything = JSON.stringify(requests);
    expect(everything).not.toContain("2026-Q3");
    expect(everything).not.toContain("FROM reporting");
    expect(everything).not.toContain(token);
  });
});
