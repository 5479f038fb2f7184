import { randomId } from "../lib/sha256";
import type { AuditEvent, RequestContext } from "./event";
import { logRecord, logsPayload, parseOtlpHeaders, toolCallSpan, tracesPayload, type TelemetryEvent } from "./otel";

/** Optional OTLP/HTTP export of audit events (docs/audit.md "OpenTelemetry"). */
export interface OtelEnv {
  /** Base URL of an OTLP/HTTP receiver; `/v1/logs` and `/v1/traces` are appended (OTLP exporter specification). */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  /** Secret: `key=value,…` headers for the receiver (e.g. an API key). */
  OTEL_EXPORTER_OTLP_HEADERS?: string;
}

/** Events waiting in this isolate; past this many, new events are dropped (and counted), never queued without bound. */
export const OTEL_QUEUE_MAX = 1000;
/** Events per POST. */
export const OTEL_BATCH = 200;
const TIMEOUT_MS = 5000;

const queue: TelemetryEvent[] = [];
let dropped = 0;

/** Dropped events since the isolate started (tests and logs). */
export function otelDropped(): number {
  return dropped;
}

function endpointOf(env: OtelEnv): URL | undefined {
  const raw = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!raw) return undefined;
  try {
    const url = new URL(raw);
    return url.protocol === "https:" || url.protocol === "http:" ? url : undefined;
  } catch {
    return undefined;
  }
}

async function post(base: URL, path: string, headers: Record<string, string>, body: unknown): Promise<void> {
  const url = new URL(base.pathname.replace(/\/$/, "") + path, base);
  const res = await fetch(url, { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS) });
  await res.body?.cancel();
  if (!res.ok) console.warn(`OTLP export to ${path} answered ${res.status}`);
}

/** Sends whatever is queued, in batches; every failure is logged and dropped, never thrown. */
async function flush(env: OtelEnv, base: URL): Promise<void> {
  const headers = parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS);
  while (queue.length > 0) {
    const batch = queue.splice(0, OTEL_BATCH);
    const now = Date.now();
    const spans = batch.map(toolCallSpan).filter((s) => s !== undefined);
    try {
      await Promise.all([post(base, "/v1/logs", headers, logsPayload(batch.map((t) => logRecord(t, now)))), spans.length ? post(base, "/v1/traces", headers, tracesPayload(spans)) : undefined]);
    } catch (e) {
      console.warn(`OTLP export failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/**
 * The one call the audit path makes per finished audit event: queues its log record (and, for a tool call, its span)
 * and sends the queue after the response (`waitUntil`). Synchronous, never throws, and does nothing without
 * OTEL_EXPORTER_OTLP_ENDPOINT; a full queue drops the event rather than hold memory or the call.
 */
export function exportAuditEvent(env: OtelEnv, waitUntil: (p: Promise<unknown>) => void, event: AuditEvent, request: RequestContext): void {
  try {
    const base = endpointOf(env);
    if (!base) return;
    if (queue.length >= OTEL_QUEUE_MAX) {
      dropped++;
      return;
    }
    const isCall = event.event === "tool.call" || event.event === "tool.call.completed";
    queue.push({ event, request, ...(isCall ? { spanId: randomId(8), ...(request.traceId ? {} : { fallbackTraceId: randomId(16) }) } : {}) });
    waitUntil(flush(env, base));
  } catch {
    /* telemetry never fails a call */
  }
}
