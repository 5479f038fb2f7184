import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { neon, neonConfig } from "@neondatabase/serverless";
import { freePort } from "../local/postgres";
import { startStack } from "../local/stack";
import { ROOT, runWrangler } from "../local/wrangler";
import { devToken } from "../test/support/mcp-client";
import { summarize } from "./stats";
import { commandName, cpuMs, descendants } from "./proc";

/**
 * `npm run bench`: gateway overhead for one read tool returning 16 rows (tools/call latency minus the same SQL sent
 * straight to the local Neon endpoint), workerd CPU per call, and the deploy bundle size. Numbers, not targets.
 * WARMUP and CALLS can be set in the environment.
 */
const WARMUP = Number(process.env.WARMUP ?? 3000);
const CALLS = Number(process.env.CALLS ?? 1000);

const stateDir = await mkdtemp(join(tmpdir(), "gatehouse-bench-"));
const ports = { worker: await freePort(), neon: await freePort(), postgres: await freePort() };
console.log(`starting the stack in ${stateDir} …`);
const stack = await startStack({ stateDir, ports, envFile: join(stateDir, "worker.env"), policies: [join(ROOT, "policies/demo.yaml"), join(ROOT, "bench/policy.yaml")],
  // The bench workspace uses the demo's read credential (the deployment's bindings, src/policy/credentials.ts).
  extraVars: { DATABASE_CREDENTIALS: JSON.stringify({ DB_URL_REPORTING: { tier: "read", workspaces: ["demo", "bench"] }, DB_URL_DIAGNOSTIC: { tier: "sql", workspaces: ["demo"] }, DB_URL_WRITER: { tier: "write", workspaces: ["demo"] } }) },
});

try {
  const token = await devToken({ workerUrl: stack.workerUrl, devSecret: stack.secrets.devSecret! }, { user: "bench@example.com", workspace: "bench" });
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "revenue_summary", arguments: {} } });
  const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream", Authorization: `Bearer ${token}` };
  const gatewayCall = async () => {
    const res = await fetch(stack.mcpUrl, { method: "POST", headers, body });
    const json = (await res.json()) as { result?: { structuredContent?: { row_count: number } } };
    if (json.result?.structuredContent?.row_count !== 16) throw new Error(`unexpected result: ${JSON.stringify(json).slice(0, 300)}`);
  };

  // The same statement the gateway sends, straight to the endpoint with the same driver and transaction shape.
  neonConfig.fetchEndpoint = stack.neonUrl;
  const sql = neon(stack.roleUrls.reporting, { arrayMode: true, fullResults: true });
  const toolSql = "SELECT region, quarter, invoice_count, invoiced, collected, outstanding, won_deals, won_amount FROM reporting.revenue_summary WHERE ($1::text IS NULL OR region = $1) ORDER BY region, quarter";
  const directCall = async () => {
    const results = await sql.transaction(
      [sql.query("SELECT set_config('statement_timeout', $1, true)", ["5000"]), sql.query(`/* gatehouse audit=bench tool=revenue_summary */\nSELECT * FROM (\n${toolSql}\n) AS gatehouse_result LIMIT $2`, [null, 101])],
      { readOnly: true, isolationLevel: "RepeatableRead", arrayMode: true, fullResults: true },
    );
    if (results[1]?.rows.length !== 16) throw new Error("direct query did not return 16 rows");
  };

  const time = async (f: () => Promise<void>, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await f();
      out.push(performance.now() - t);
    }
    return out;
  };

  console.log(`warming up (${WARMUP} gateway calls, ${Math.min(WARMUP, 1000)} direct) …`);
  await time(gatewayCall, WARMUP);
  await time(directCall, Math.min(WARMUP, 1000));

  const wrangler = (await import("node:child_process")).execSync(`pgrep -f "wrangler.js dev --ip 127.0.0.1 --port ${ports.worker}"`).toString().trim().split("\n")[0];
  const workerd = descendants(Number(wrangler)).filter((p) => commandName(p) === "workerd");
  const workerdCpu = () => workerd.reduce((a, p) => a + cpuMs(p), 0);

  // Interleave in blocks so drift (GC, other load) hits both series alike. The direct series runs in Node and
  // the endpoint, not in workerd, so workerd's CPU during the gateway blocks is the gateway's.
  const gateway: number[] = [];
  const direct: number[] = [];
  let gatewayWallMs = 0;
  let gatewayCpuMs = 0;
  for (let block = 0; block < CALLS / 100; block++) {
    const cpu0 = workerdCpu();
    const t = performance.now();
    gateway.push(...(await time(gatewayCall, 100)));
    gatewayWallMs += performance.now() - t;
    gatewayCpuMs += workerdCpu() - cpu0;
    direct.push(...(await time(directCall, 100)));
  }
  const cpuPerCall = gatewayCpuMs / gateway.length;

  // Where the time goes: the same runtime answering requests that do progressively more.
  const post = (payload: unknown) => async () => {
    const res = await fetch(stack.mcpUrl, { method: "POST", headers, body: JSON.stringify(payload) });
    await res.arrayBuffer();
  };
  const breakdown: Record<string, { p50: number; p99: number; cpu_ms: number }> = {};
  const steps: Array<[string, () => Promise<void>]> = [
    ["GET / (routing only)", async () => void (await (await fetch(`${stack.workerUrl}/`)).arrayBuffer())],
    ["POST /mcp without token (401 + audit row)", async () => void (await (await fetch(stack.mcpUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })).arrayBuffer())],
    ["tools/list (token, revocation, policy)", post({ jsonrpc: "2.0", id: 1, method: "tools/list" })],
    ["refused call (invalid arguments)", post({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "revenue_summary", arguments: { region: 42 } } })],
    ["tools/call revenue_summary", gatewayCall],
  ];
  for (const [name, f] of steps) {
    await time(f, 300);
    const cpu0 = workerdCpu();
    const samples = await time(f, 500);
    const s = summarize(samples);
    breakdown[name] = { p50: s.p50, p99: s.p99, cpu_ms: (workerdCpu() - cpu0) / samples.length };
  }

  // The audit intent's cost, measured inside workerd (awaited D1 inserts of a representative row).
  const auditRes = await fetch(`${stack.workerUrl}/dev/bench/audit-insert?n=500`, { method: "POST", headers: { "X-Gatehouse-Dev-Secret": stack.secrets.devSecret! } });
  const audit = (await auditRes.json()) as { ms_per_insert: number };

  const g = summarize(gateway);
  const d = summarize(direct);

  const outdir = join(stateDir, "dist");
  await runWrangler(["deploy", "--dry-run", "--outdir", outdir]);
  let raw = 0;
  let gz = 0;
  for (const f of await readdir(outdir)) {
    if (!/\.(js|mjs|wasm)$/.test(f)) continue;
    const buf = await readFile(join(outdir, f));
    if (!(await stat(join(outdir, f))).isFile()) continue;
    raw += buf.length;
    gz += gzipSync(buf).length;
  }

  const results = {
    date: new Date().toISOString(),
    calls: CALLS,
    warmup: WARMUP,
    tool: "revenue_summary (16 rows)",
    gateway_ms: g,
    direct_ms: d,
    overhead_ms: { p50: g.p50 - d.p50, p99: g.p99 - d.p99 },
    workerd_cpu_ms_per_call: cpuPerCall,
    throughput_c1_per_s: (gateway.length / gatewayWallMs) * 1000,
    breakdown,
    audit_intent_ms_per_call: audit.ms_per_insert,
    bundle: { raw_bytes: raw, gzip_bytes: gz },
  };
  const f = (n: number) => n.toFixed(2).padStart(8);
  console.log(`
                                    p50 ms    p99 ms   mean ms
tools/call through Gatehouse      ${f(g.p50)}  ${f(g.p99)}  ${f(g.mean)}
same SQL straight to endpoint     ${f(d.p50)}  ${f(d.p99)}  ${f(d.mean)}
gateway overhead                  ${f(g.p50 - d.p50)}  ${f(g.p99 - d.p99)}
workerd CPU per call (ms)         ${f(cpuPerCall)}   (${workerd.length} workerd process(es), all of wrangler dev's runtime)
throughput, concurrency 1 (/s)    ${f(results.throughput_c1_per_s)}
audit intent (awaited D1 insert)  ${f(audit.ms_per_insert)} ms per call, measured inside workerd
bundle (wrangler deploy --dry-run) ${(raw / 1024).toFixed(0)} KiB raw, ${(gz / 1024).toFixed(0)} KiB gzip

breakdown (500 calls each)                     p50 ms    p99 ms   workerd CPU ms/call
${Object.entries(breakdown).map(([k, v]) => `${k.padEnd(44)} ${f(v.p50)}  ${f(v.p99)}  ${f(v.cpu_ms)}`).join("\n")}
`);
  await mkdir(join(ROOT, "bench/results"), { recursive: true });
  await writeFile(join(ROOT, "bench/results/latest.json"), JSON.stringify(results, null, 2));
  console.log("written to bench/results/latest.json");
} finally {
  await stack.stop();
  await rm(stateDir, { recursive: true, force: true });
}
