import type { AuditEvent, RequestContext } from "./event";

/**
 * Audit events as OpenTelemetry data (docs/audit.md "OpenTelemetry"): one OTLP log record per audit event and one
 * span per tool call, in the OTLP/HTTP JSON encoding (OTLP specification, "JSON Protobuf Encoding": trace and span
 * ids as hex, 64-bit integers as strings). Attribute names follow the semantic conventions where they exist —
 * `mcp.method.name`, `gen_ai.tool.name`, `db.system.name`, `db.query.summary`, `db.response.status_code`,
 * `error.type` — and are `gatehouse.*` otherwise. Never parameter values, SQL text, details or results: only what
 * identifies the decision.
 */

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface OtlpLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: { stringValue: string };
  attributes: KeyValue[];
  traceId?: string;
  spanId?: string;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  status: { code: number; message?: string };
}

/** One audit event ready for export: the row's final fields (a tool call's intent merged with its completion). */
export interface TelemetryEvent {
  event: AuditEvent;
  request: RequestContext;
  /** Ids for the tool call's span (random, from the adapter); the log record points at the span. */
  spanId?: string;
  /** When there is no client trace (`traceparent`), the span starts a trace of its own. */
  fallbackTraceId?: string;
}

/**
 * `db.query.summary` (OpenTelemetry database semantic conventions): the operation and the tables it names, e.g.
 * "SELECT reporting.opportunities". String literals, dollar-quoted strings and comments are removed first, so a value
 * inside them never reaches telemetry; what remains are keywords and identifiers.
 */
export function querySummary(sql: string | undefined): string | undefined {
  if (!sql) return undefined;
  const stripped = sql
    .replace(/--[^\n]*/g, " ")
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g, " ")
    .replace(/'(?:[^']|'')*'/g, " ")
    .replace(/"(?:[^"]|"")*"/g, " ");
  const op = /\b(select|insert|update|delete|merge|with|values|call|explain|show)\b/i.exec(stripped)?.[1]?.toUpperCase();
  if (!op) return undefined;
  const tables: string[] = [];
  for (const m of stripped.matchAll(/\b(?:from|join|into|update)\s+([A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?)/gi)) {
    const t = m[1]!.toLowerCase();
    if (!tables.includes(t) && !["select", "lateral", "only"].includes(t)) tables.push(t);
  }
  return [op, ...tables].join(" ").slice(0, 255);
}

const str = (key: string, v: string | undefined): KeyValue[] => (v === undefined || v === "" ? [] : [{ key, value: { stringValue: v } }]);
const int = (key: string, v: number | undefined): KeyValue[] => (v === undefined || !Number.isFinite(v) ? [] : [{ key, value: { intValue: String(Math.trunc(v)) } }]);

/** The MCP method an audit event belongs to, when it is one (`mcp.method.name`). */
function mcpMethod(event: string): string | undefined {
  if (event === "tool.call" || event === "tool.call.completed") return "tools/call";
  if (event === "tools.list") return "tools/list";
  return undefined;
}

function attributes(e: AuditEvent, r: RequestContext): KeyValue[] {
  const failed = e.outcome !== "ok" && e.outcome !== "started" && e.outcome !== "pending_approval";
  return [
    ...str("gatehouse.audit.id", e.id),
    ...str("gatehouse.audit.event", e.event),
    ...str("gatehouse.audit.outcome", e.outcome),
    ...str("gatehouse.audit.rule", e.rule),
    ...str("gatehouse.workspace", e.workspace),
    ...str("gatehouse.principal", e.principal),
    ...str("gatehouse.principal.kind", e.principalKind),
    ...str("gatehouse.client.id", e.clientId),
    ...str("gatehouse.request.id", r.requestId),
    ...str("mcp.method.name", mcpMethod(e.event)),
    ...str("gen_ai.tool.name", e.tool),
    ...str("gatehouse.tool.version", e.toolVersion),
    ...(e.dbRole ? [{ key: "db.system.name", value: { stringValue: "postgresql" } }] : []),
    ...str("gatehouse.db.role", e.dbRole),
    ...str("gatehouse.db.login", e.dbLogin),
    ...str("db.query.summary", querySummary(e.sqlText)),
    ...str("db.response.status_code", e.sqlstate),
    ...int("db.response.returned_rows", e.rows),
    ...int("gatehouse.duration_ms", e.durationMs),
    ...str("error.type", failed ? (e.rule ?? e.sqlstate ?? e.outcome) : undefined),
  ];
}

/** Severity by outcome (OpenTelemetry logs data model: INFO 9, WARN 13, ERROR 17). */
function severity(outcome: string): { severityNumber: number; severityText: string } {
  if (outcome === "error") return { severityNumber: 17, severityText: "ERROR" };
  if (outcome === "ok" || outcome === "started" || outcome === "pending_approval") return { severityNumber: 9, severityText: "INFO" };
  return { severityNumber: 13, severityText: "WARN" };
}

const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

export function logRecord(t: TelemetryEvent, observedMs: number): OtlpLogRecord {
  const e = t.event;
  const traceId = t.request.traceId ?? (t.spanId ? t.fallbackTraceId : undefined);
  return {
    timeUnixNano: nanos(Date.parse(e.time)),
    observedTimeUnixNano: nanos(observedMs),
    ...severity(e.outcome),
    body: { stringValue: `${e.event} ${e.outcome}${e.tool ? ` ${e.tool}` : ""}` },
    attributes: attributes(e, t.request),
    ...(traceId ? { traceId } : {}),
    ...(t.spanId && traceId ? { spanId: t.spanId } : {}),
  };
}

/** A server span for a tool call (MCP semantic conventions: name "{mcp.method.name} {target}"), in the client's trace when it sent one. */
export function toolCallSpan(t: TelemetryEvent): OtlpSpan | undefined {
  const e = t.event;
  const traceId = t.request.traceId ?? t.fallbackTraceId;
  if (!t.spanId || !traceId || (e.event !== "tool.call" && e.event !== "tool.call.completed")) return undefined;
  const start = Date.parse(e.time);
  return {
    traceId,
    spanId: t.spanId,
    name: `tools/call${e.tool ? ` ${e.tool}` : ""}`,
    kind: 2,
    startTimeUnixNano: nanos(start),
    endTimeUnixNano: nanos(start + (e.durationMs ?? 0)),
    attributes: attributes(e, t.request),
    status: e.outcome === "error" ? { code: 2, message: e.rule ?? e.sqlstate ?? "error" } : { code: 0 },
  };
}

export const RESOURCE = { attributes: [{ key: "service.name", value: { stringValue: "gatehouse" } }] };
export const SCOPE = { name: "gatehouse.audit" };

export function logsPayload(records: OtlpLogRecord[]): unknown {
  return { resourceLogs: [{ resource: RESOURCE, scopeLogs: [{ scope: SCOPE, logRecords: records }] }] };
}

export function tracesPayload(spans: OtlpSpan[]): unknown {
  return { resourceSpans: [{ resource: RESOURCE, scopeSpans: [{ scope: SCOPE, spans }] }] };
}

/** OTEL_EXPORTER_OTLP_HEADERS: `key=value` pairs separated by commas, values percent-decoded (OTLP exporter spec). */
export function parseOtlpHeaders(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (raw ?? "").split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    try {
      const key = decodeURIComponent(part.slice(0, i).trim());
      const value = decodeURIComponent(part.slice(i + 1).trim());
      if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) out[key] = value;
    } catch {
      /* a malformed pair is ignored, like an absent one */
    }
  }
  return out;
}
