import { inject } from "vitest";
import pg from "pg";
import { devToken } from "../support/mcp-client";
import { jwtPayload, readLocalD1 } from "../support/d1";

export const stack = inject("resilience");

export type ToolResult = { isError?: boolean; content: Array<{ type: string; text?: string }>; structuredContent?: { rows: unknown[][]; row_count?: number; approval?: { id: string } } };

export interface Call {
  tool: string;
  status: number;
  /** performance.now() at send and at the end of the response body. */
  started: number;
  ended: number;
  result?: ToolResult;
  error?: { code: number; message: string };
  /** The response body when it was not JSON-RPC (an HTTP error such as a 401). */
  raw?: string;
}

export const text = (r: ToolResult | undefined) => (r?.content ?? []).map((c) => c.text ?? "").join("\n");

/** A token of a user in the resilience workspace (test/resilience/policy.yaml) and its jti, for audit queries. */
export async function userToken(user: string, scope?: string): Promise<{ token: string; jti: string }> {
  const token = await devToken(stack, { user, workspace: "resilience", ...(scope ? { scope } : {}) });
  return { token, jti: String(jwtPayload(token).jti) };
}

/** One stateless 2025-era tools/call over plain fetch (the cheapest client, so load measures the gateway). */
export async function callTool(token: string, tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<Call> {
  const started = performance.now();
  const res = await fetch(stack.mcpUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: args } }),
    ...(signal ? { signal } : {}),
  });
  const raw = await res.text();
  const ended = performance.now();
  try {
    const json = JSON.parse(raw) as { result?: ToolResult; error?: { code: number; message: string } };
    return { tool, status: res.status, started, ended, ...(json.result ? { result: json.result } : {}), ...(json.error ? { error: json.error } : {}), ...(!json.result && !json.error ? { raw } : {}) };
  } catch {
    return { tool, status: res.status, started, ended, raw };
  }
}

/** The tool.call audit rows of one token, read straight from the local D1 file. */
export function auditRows(jti: string): Promise<Array<{ id: string; tool: string; outcome: string; rule: string | null; duration_ms: number | null; approval_id: string | null }>> {
  return readLocalD1(stack.stateDir, `SELECT id, tool, outcome, rule, duration_ms, approval_id FROM audit_events WHERE token_jti = '${jti.replace(/'/g, "''")}' AND event = 'tool.call' ORDER BY seq`);
}

/**
 * Waits until every tool.call row of the token is completed (completions are written after the response, in the
 * Worker's waitUntil) and there are at least `expected` of them; returns the rows as last read.
 */
export async function completedAuditRows(jti: string, expected: number, timeoutMs = 30_000): Promise<Awaited<ReturnType<typeof auditRows>>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = await auditRows(jti);
    if ((rows.length >= expected && rows.every((r) => r.outcome !== "started")) || Date.now() > until) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A query on the stack's Postgres as the superuser (pg_stat_statements, checks of what ran). */
export async function pgQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: stack.pgUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Statements Postgres has executed for the gateway's tier roles since the last reset, per tier role. A per-token login
 * of a dynamic credential (gh_…) counts for the tier role it inherits; the broker (gatehouse_broker, which creates,
 * revokes and sweeps those logins, also from the minute cron) runs no tool statement and is left out.
 */
export async function statementsByRole(): Promise<Record<string, number>> {
  const rows = await pgQuery<{ role: string; calls: string }>(
    `SELECT coalesce(t.rolname, r.rolname) AS role, sum(s.calls)::text AS calls
     FROM pg_stat_statements s
     JOIN pg_roles r ON r.oid = s.userid
     LEFT JOIN pg_auth_members m ON m.member = r.oid AND r.rolname LIKE 'gh\\_%'
     LEFT JOIN pg_roles t ON t.oid = m.roleid
     WHERE (r.rolname LIKE 'gatehouse\\_%' AND r.rolname <> 'gatehouse_broker') OR r.rolname LIKE 'gh\\_%'
     GROUP BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.role, Number(r.calls)]));
}

export async function control(path: "postgres/kill" | "postgres/start"): Promise<{ ms: number }> {
  const res = await fetch(`${stack.controlUrl}/${path}`, { method: "POST" });
  const json = (await res.json()) as { ms: number; error?: string };
  if (!res.ok) throw new Error(`${path}: ${json.error}`);
  return json;
}

export async function stall(body: { ms: number; match?: string } | undefined): Promise<void> {
  const res = await fetch(`${stack.neonOrigin}/__test/stall`, { method: body ? "PUT" : "DELETE", ...(body ? { body: JSON.stringify(body) } : {}) });
  if (!res.ok) throw new Error(`stall hook answered ${res.status}: ${await res.text()}`);
}

/** Seals and verifies the whole audit chain server-side (what `gatehouse audit verify` does). */
export async function verifyChain(): Promise<unknown> {
  const admin = await devToken(stack, { user: "admin@example.com", workspace: "resilience", scope: "gatehouse:admin" });
  const res = await fetch(`${stack.workerUrl}/admin/api/audit/verify`, { headers: { Authorization: `Bearer ${admin}` } });
  return res.json();
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Runs `worker` on `concurrency` lanes until `total` calls have been started; returns every call in start order. */
export async function lanes<T>(concurrency: number, total: number, worker: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        out[i] = await worker(i);
      }
    }),
  );
  return out;
}
