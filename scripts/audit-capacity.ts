import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { freePort } from "../local/postgres";
import { startStack } from "../local/stack";
import { ROOT, runWrangler } from "../local/wrangler";
import { devToken } from "../test/support/mcp-client";
import { readLocalD1 } from "../test/support/d1";

/**
 * `npx tsx scripts/audit-capacity.ts`: the measured inputs of the capacity model in docs/audit.md, on the local stack.
 *   1. rows per tool call and bytes per row: CALLS tool calls of the demo's three read tools (Alice and Wes, within
 *      their per-minute limits), sealed by one Cron run, then measured in the local D1 file (column bytes and pages);
 *   2. archive throughput: ARCHIVE_ROWS copies of those rows dated two days back, then Cron runs until the archive
 *      has caught up; prints rows archived per second of one run.
 * CALLS and ARCHIVE_ROWS can be set in the environment.
 */
const CALLS = Number(process.env.CALLS ?? 150);
const ARCHIVE_ROWS = Number(process.env.ARCHIVE_ROWS ?? 50000);

const stateDir = await mkdtemp(join(tmpdir(), "gatehouse-capacity-"));
const ports = { worker: await freePort(), neon: await freePort(), postgres: await freePort() };
console.log(`starting the stack in ${stateDir} …`);
const stack = await startStack({ stateDir, ports, envFile: join(stateDir, "worker.env"), policies: [join(ROOT, "policies/demo.yaml")] });
const d1 = (sql: string) => runWrangler(["d1", "execute", "DB", "--local", "--persist-to", join(stateDir, "wrangler"), "--command", sql]);
const q = <T = Record<string, number>>(sql: string) => readLocalD1<T>(stateDir, sql);
const cron = async () => {
  const res = await fetch(`${stack.workerUrl}/__scheduled?cron=*+*+*+*+*`);
  if (!res.ok) throw new Error(`cron run refused (${res.status})`);
};

try {
  const dev = { workerUrl: stack.workerUrl, devSecret: stack.secrets.devSecret! };
  const auth = async (user: string) => ({ "Content-Type": "application/json", Accept: "application/json, text/event-stream", Authorization: `Bearer ${await devToken(dev, { user })}` });
  const [alice, wes] = [await auth("alice@example.com"), await auth("wes@example.com")];
  const calls = [
    { headers: alice, params: { name: "pipeline_coverage", arguments: { quarter: "2026-Q2" } } },
    { headers: wes, params: { name: "my_opportunities", arguments: { stage: "proposal" } } },
    { headers: alice, params: { name: "revenue_summary", arguments: {} } },
  ];
  const [before] = await q("SELECT COALESCE(MAX(seq), 0) AS seq FROM audit_events");
  for (let i = 0; i < CALLS; i++) {
    const call = calls[i % calls.length]!;
    const res = await fetch(stack.mcpUrl, { method: "POST", headers: call.headers, body: JSON.stringify({ jsonrpc: "2.0", id: i, method: "tools/call", params: call.params }) });
    await res.text();
  }
  // Completions are written after the response; wait until none is left `started`, then seal.
  for (let i = 0; i < 50; i++) {
    const [open] = await q(`SELECT count(*) AS n FROM audit_events WHERE seq > ${before!.seq} AND outcome = 'started'`);
    if (open!.n === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await cron();
  const since = `seq > ${before!.seq}`;
  const [rows] = await q(`SELECT count(*) AS n, sum(event = 'tool.call') AS calls, sum(hash IS NOT NULL) AS sealed FROM audit_events WHERE ${since}`);
  const outcomes = await q(`SELECT event, outcome, count(*) AS n FROM audit_events WHERE ${since} GROUP BY event, outcome`);
  const cols = (await q<{ name: string }>("SELECT name FROM pragma_table_info('audit_events')")).map((c) => c.name);
  const [content] = await q(`SELECT avg(${cols.map((c) => `COALESCE(length(CAST(${c} AS BLOB)), 0)`).join(" + ")}) AS bytes FROM audit_events WHERE ${since} AND event = 'tool.call'`);
  const [json] = await q<{ bytes: number }>(`SELECT avg(length(json_object(${cols.map((c) => `'${c}', ${c}`).join(", ")}))) AS bytes FROM audit_events WHERE ${since} AND event = 'tool.call'`);
  const [total] = await q("SELECT count(*) AS n FROM audit_events");
  // The archive's encoding of the same rows: sorted-key JSON lines, gzip (the Worker's CompressionStream is zlib too).
  const sample = await q<Record<string, unknown>>(`SELECT * FROM audit_events WHERE ${since} AND event = 'tool.call' ORDER BY seq`);
  const sorted = (r: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))));
  const gzipBytesPerRow = Math.round(gzipSync(`${sample.map(sorted).join("\n")}\n`).byteLength / Math.max(1, sample.length));
  let pages: Array<{ name: string; bytes: number }> = [];
  try {
    pages = await q<{ name: string; bytes: number }>("SELECT name, sum(pgsize) AS bytes FROM dbstat WHERE name LIKE 'audit_%' OR name LIKE 'sqlite_autoindex_audit_events%' GROUP BY name");
  } catch (e) {
    console.log(`(dbstat unavailable: ${e instanceof Error ? e.message : String(e)})`);
  }
  const stored = pages.filter((p) => p.name === "audit_events" || p.name.startsWith("audit_by_") || p.name.startsWith("sqlite_autoindex_audit_events")).reduce((s, p) => s + p.bytes, 0);
  console.log(
    JSON.stringify(
      {
        calls: CALLS,
        outcomes,
        rows_per_call: Number(rows!.n) / CALLS,
        tool_call_rows: rows!.calls,
        sealed: rows!.sealed,
        content_bytes_per_row: Math.round(Number(content!.bytes)),
        jsonl_bytes_per_row: Math.round(json!.bytes),
        gzip_jsonl_bytes_per_row: gzipBytesPerRow,
        pages_bytes: pages,
        stored_bytes_per_row_all_rows: Number(total!.n) ? Math.round(stored / Number(total!.n)) : null,
        rows_in_d1: total!.n,
      },
      null,
      2,
    ),
  );

  if (ARCHIVE_ROWS > 0) {
    // Copies of the measured rows (times spread over the last hour); the gateway's clock then moves two hours on
    // (dev only, POST /dev/clock), so every row belongs to a finished hour and is archivable.
    const copy = cols.filter((c) => !["seq", "id", "time", "prev_hash", "hash"].includes(c));
    await d1(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ARCHIVE_ROWS}),
       src AS (SELECT row_number() OVER (ORDER BY seq) - 1 AS rn, * FROM audit_events WHERE ${since} AND event = 'tool.call')
       INSERT INTO audit_events (id, time, ${copy.join(", ")})
       SELECT 'cap-' || i, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hours', '+' || (i * 3600 / ${ARCHIVE_ROWS}) || ' seconds'), ${copy.map((c) => `s.${c}`).join(", ")}
       FROM n JOIN src s ON s.rn = n.i % ${Math.max(1, Number(rows!.calls))}`,
    );
    // Sealed first (the admin API's seal), so the pages measured hold hashes and the Cron runs timed only archive.
    const seal = await fetch(`${stack.workerUrl}/admin/api/audit/seal`, {
      method: "POST",
      headers: { Authorization: `Bearer ${await devToken(dev, { user: "admin@example.com", scope: "gatehouse:admin" })}` },
    });
    if (!seal.ok) throw new Error(`seal refused (${seal.status})`);
    const [stats] = await q("SELECT count(*) AS n, sum(hash IS NOT NULL) AS sealed FROM audit_events");
    const big = await q<{ name: string; bytes: number }>(
      "SELECT name, sum(pgsize) AS bytes FROM dbstat WHERE name = 'audit_events' OR name LIKE 'audit_by_%' OR name LIKE 'sqlite_autoindex_audit_events%' GROUP BY name",
    );
    console.log(
      JSON.stringify(
        {
          rows_in_d1: stats!.n,
          sealed: stats!.sealed,
          stored_bytes_per_row: Math.round(big.reduce((s, p) => s + p.bytes, 0) / Number(stats!.n)),
          by_structure: big.map((p) => ({ name: p.name, bytes_per_row: Math.round(p.bytes / Number(stats!.n)) })),
        },
        null,
        2,
      ),
    );
    const clock = await fetch(`${stack.workerUrl}/dev/clock`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Gatehouse-Dev-Secret": dev.devSecret },
      body: JSON.stringify({ offset_seconds: 7200 }),
    });
    if (!clock.ok) throw new Error(`dev clock refused (${clock.status}): ${await clock.text()}`);
    const progress = async () => (await q<{ seq: number }>("SELECT COALESCE((SELECT seq FROM audit_archive WHERE id = 1), 0) AS seq").catch(() => [{ seq: 0 }]))[0]!.seq;
    const runs: Array<{ rows: number; ms: number }> = [];
    for (let i = 0; i < 20; i++) {
      const start = await progress();
      const t = performance.now();
      await cron();
      const end = await progress();
      runs.push({ rows: end - start, ms: Math.round(performance.now() - t) });
      if (end === start) break;
    }
    const [objects] = await q("SELECT count(*) AS n FROM audit_events");
    console.log(JSON.stringify({ archive_runs: runs, rows_per_second_per_run: runs.filter((r) => r.rows > 0).map((r) => Math.round((r.rows / r.ms) * 1000)), rows_left_in_d1: objects!.n }, null, 2));
  }
} finally {
  await stack.stop();
  await rm(stateDir, { recursive: true, force: true });
}
