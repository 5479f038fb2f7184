import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import pg from "pg";
import { neon, neonConfig } from "@neondatabase/serverless";
import { freePort } from "../local/postgres";
import { ROOT } from "../local/wrangler";
import { devToken } from "../test/support/mcp-client";
import { criticalPath, parseRoundTrips, ROUND_TRIPS_REQUEST_HEADER, ROUND_TRIPS_RESPONSE_HEADER, type CriticalPath } from "../src/lib/round-trips";
import { Client, type Reply } from "./http";
import { Inspector } from "./inspector";
import { commandName, cpuMs, descendants, listeningPid, loadAverage } from "./proc";
import { summarizeProfile, type ProfileSummary } from "./profile";
import { summarize } from "./stats";
import { buildBundle, startBase, startMiniflareTarget, startWranglerTarget, type Base, type Target } from "./stack";

/**
 * `npm run bench` (docs/benchmark.md): the gateway's cost per call, apart from the dev tooling around it.
 *   --profile          write each call kind's .cpuprofile to bench/results/ and print top functions and packages
 *   --heap             isolate heap before and after 20,000 more read calls (default: over the run's own calls)
 *   --target=wrangler|miniflare|both   (default both)
 *   --legacy           send 2025-era JSON-RPC (no _meta envelope) instead of MCP 2026-07-28 requests
 * BENCH_SCALE multiplies the call counts (default 1: the whole run stays under 2 minutes on 2 cores; 2.5 or more for
 * steadier percentiles).
 */
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const PROFILE = flag("profile");
const HEAP = flag("heap");
const LEGACY = flag("legacy");
const TARGETS = (option("target") ?? "both") === "both" ? ["wrangler", "miniflare"] : [option("target")!];
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const n = (base: number) => Math.max(10, Math.round(base * SCALE));
const COUNTS = { warmup: n(50), c1: n(120), c1Other: n(60), concurrent: n(150), profile: n(60), roundTrips: 10, dynamicTokens: n(10), heap: HEAP ? 20_000 : 0 };
const CONCURRENCY = [8, 32];
const PROFILE_INTERVAL_US = 200;

type KindName = "read" | "read_login" | "execute_sql" | "refused" | "tools_list" | "unauthorized";
interface Kind {
  name: KindName;
  label: string;
  body: string;
  headers: Record<string, string>;
  check: (r: Reply) => boolean;
  /** The same statement straight to the Neon endpoint, for the overhead. */
  direct?: () => Promise<void>;
  concurrent: boolean;
}

const TOOL_SQL =
  "SELECT region, quarter, invoice_count, invoiced, collected, outstanding, won_deals, won_amount FROM reporting.revenue_summary WHERE ($1::text IS NULL OR region = $1) ORDER BY region, quarter";
const ADHOC_SQL = "SELECT region, quarter, invoice_count, invoiced, collected, outstanding, won_deals, won_amount FROM reporting.revenue_summary ORDER BY region, quarter";
const REFUSED_SQL = "DELETE FROM sales.accounts";
const MODERN = "2026-07-28";
const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "gatehouse-bench", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

function rpc(method: string, params: Record<string, unknown> | undefined, token: string | undefined): { body: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (LEGACY) return { body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params ? { params } : {}) }), headers };
  headers["MCP-Protocol-Version"] = MODERN;
  headers["Mcp-Method"] = method;
  if (method === "tools/call" && typeof params?.name === "string") headers["Mcp-Name"] = params.name;
  return { body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: { ...params, _meta: ENVELOPE } }), headers };
}

/** The transaction the gateway sends (src/tools/neon.ts), from Node through the same driver. */
function directCall(base: Base, connectionString: string, text: string, params: unknown[]): () => Promise<void> {
  neonConfig.fetchEndpoint = base.neonUrl;
  const sql = neon(connectionString, { arrayMode: true, fullResults: true });
  const rawText = { getTypeParser: () => (value: string) => value };
  return async () => {
    const results = await sql.transaction(
      [
        sql.query("SELECT set_config('statement_timeout', $1, true), set_config('standard_conforming_strings', 'on', true), set_config('search_path', 'pg_catalog, pg_temp', true)", ["5000"]),
        sql.query(text, params, { types: rawText }),
      ],
      { readOnly: true, isolationLevel: "RepeatableRead", arrayMode: true, fullResults: true },
    );
    if (results[1]?.rows.length !== 16) throw new Error("direct query did not return 16 rows");
  };
}

function kinds(base: Base, token: string): Kind[] {
  const has16 = (r: Reply) => r.status === 200 && r.body.includes('"row_count":16');
  const wrap = (sql: string, tool: string, limitParam: number) => `/* gatehouse audit=bench tool=${tool} */\nSELECT * FROM (\n${sql}\n) AS gatehouse_result LIMIT $${limitParam}`;
  return [
    {
      name: "read",
      label: "read (revenue_summary, 16 rows)",
      ...rpc("tools/call", { name: "revenue_summary", arguments: {} }, token),
      check: has16,
      direct: directCall(base, base.roleUrls.reporting, wrap(TOOL_SQL, "revenue_summary", 2), [null, 101]),
      concurrent: true,
    },
    {
      // The same statement through a dynamic credential: the call runs as the token's own Postgres login.
      name: "read_login",
      label: "read on a per-token login",
      ...rpc("tools/call", { name: "revenue_summary_login", arguments: {} }, token),
      check: has16,
      concurrent: false,
    },
    {
      name: "execute_sql",
      label: "execute_sql (16 rows)",
      ...rpc("tools/call", { name: "execute_sql", arguments: { sql: ADHOC_SQL } }, token),
      check: has16,
      direct: directCall(base, base.roleUrls.diagnostic, wrap(ADHOC_SQL, "execute_sql", 1), [501]),
      concurrent: true,
    },
    {
      name: "refused",
      label: "execute_sql refused by the guard",
      ...rpc("tools/call", { name: "execute_sql", arguments: { sql: REFUSED_SQL } }, token),
      check: (r) => r.status === 200 && r.body.includes("Refused by the SQL guard"),
      concurrent: false,
    },
    { name: "tools_list", label: "tools/list", ...rpc("tools/list", undefined, token), check: (r) => r.status === 200 && r.body.includes('"tools":['), concurrent: false },
    { name: "unauthorized", label: "401 (no token)", ...rpc("tools/list", undefined, undefined), check: (r) => r.status === 401, concurrent: false },
  ];
}

/** Runs `count` calls with `concurrency` in flight; latencies in ms and the wall time. */
async function drive(f: () => Promise<void>, count: number, concurrency: number): Promise<{ samples: number[]; wallMs: number }> {
  const samples = new Array<number>(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const t = performance.now();
      await f();
      samples[i] = performance.now() - t;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { samples, wallMs: performance.now() - t0 };
}

function gatewayCall(client: Client, kind: Kind, extraHeaders: Record<string, string> = {}): () => Promise<void> {
  const headers = { ...kind.headers, ...extraHeaders };
  if (kind.name === "read_login" && headers.Authorization) tokensWithLogins.add(headers.Authorization);
  return async () => {
    const r = await client.post("/mcp", headers, kind.body);
    if (!kind.check(r)) throw new Error(`${kind.name}: unexpected answer ${r.status} ${r.body.slice(0, 300)}`);
  };
}

/** CPU time per process role and pid (ms), for the budget. */
type Roles = () => Record<string, number[]>;
type Snapshot = Record<string, Map<number, number>>;
function cpuSnapshot(roles: Roles): Snapshot {
  const out: Snapshot = {};
  for (const [role, pids] of Object.entries(roles())) {
    const m = new Map<number, number>();
    for (const p of pids) {
      try {
        m.set(p, cpuMs(p));
      } catch {
        /* gone */
      }
    }
    out[role] = m;
  }
  const self = process.cpuUsage();
  out["bench client (load generator)"] = new Map([[process.pid, (self.user + self.system) / 1000]]);
  return out;
}
/** CPU (ms) each role spent between two snapshots: per pid alive at the end (a process that exited meanwhile, e.g. a Postgres backend, is not counted). */
function cpuBetween(a: Snapshot, b: Snapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, pids] of Object.entries(b)) {
    let ms = 0;
    for (const [pid, v] of pids) ms += v - (a[role]?.get(pid) ?? 0);
    out[role] = ms;
  }
  return out;
}
function cpuDelta(a: Snapshot, b: Snapshot, calls: number): Record<string, number> {
  return Object.fromEntries(Object.entries(cpuBetween(a, b)).map(([k, v]) => [k, v / calls]));
}

interface KindResult {
  label: string;
  c1: { p50: number; p99: number; mean: number; calls_per_s: number };
  direct?: { p50: number; p99: number; mean: number };
  overhead?: { p50: number; p99: number };
  concurrency?: Record<string, { calls_per_s: number; p50: number; p99: number }>;
  process_cpu_ms_per_call: Record<string, number>;
  gateway_process_cpu_ms_per_call: number;
  round_trips?: CriticalPath & { events: string; median_ms: Record<string, number> };
  profile?: Omit<ProfileSummary, "topFunctions" | "packages"> & { topFunctions: ProfileSummary["topFunctions"]; packages: ProfileSummary["packages"] };
}

interface TargetResult {
  kinds: Partial<Record<KindName, KindResult>>;
  cpu_budget_c32_read: Record<string, { ms_per_call: number; core_percent: number }>;
  /** One audit insert into the local D1 on its own: wall time as the isolate saw it, and the gateway process's CPU. */
  local_d1_insert: { wall_ms: number; process_cpu_ms: number };
  dynamic_logins: DynamicLogins;
  heap: { before_bytes: number; after_bytes: number; calls_between: number } | undefined;
  gateway_roles: string[];
  load_average: { before: number[]; after: number[] };
}

/** Tokens of this run that made a call on the dynamic credential, across targets (they share one Postgres). */
const tokensWithLogins = new Set<string>();

interface DynamicLogins {
  /** First call of a fresh token (p50 over the tokens): on the static credential, and on the dynamic one (creates the login). */
  first_call_static_p50: number;
  first_call_dynamic_p50: number;
  /** The same token's second dynamic call (the login exists). */
  second_call_dynamic_p50: number;
  tokens: number;
  /** c=32 on the dynamic credential, 32 fresh tokens at once (each creates its login on its first call). */
  c32: { tokens: number; calls: number; calls_per_s: number };
  /** Live per-token logins in Postgres after that, against the run's tokens that made a dynamic call. */
  live_logins: number;
  tokens_with_logins: number;
}

/**
 * Dynamic credentials (docs/database-credentials.md): what the first call of a token costs when it creates the
 * token's Postgres login, against a first call on a static credential and the token's next call; then 32 fresh
 * tokens at c=32, and the number of live logins against the number of tokens that made a dynamic call.
 */
async function measureDynamicLogins(client: Client, dev: { workerUrl: string; devSecret: string }, base: Base): Promise<DynamicLogins> {
  const TOKENS = COUNTS.dynamicTokens;
  const first: number[] = [];
  const firstStatic: number[] = [];
  const second: number[] = [];
  const timed = async (k: Kind) => {
    const t = performance.now();
    await gatewayCall(client, k)();
    return performance.now() - t;
  };
  for (let i = 0; i < TOKENS; i++) {
    const ks = kinds(base, await devToken(dev, { user: "bench@example.com", workspace: "bench" }));
    const kindOf = (name: KindName) => ks.find((k) => k.name === name)!;
    firstStatic.push(await timed(kindOf("read")));
    first.push(await timed(kindOf("read_login")));
    second.push(await timed(kindOf("read_login")));
  }
  const PER_TOKEN = 4;
  const c32Tokens = await Promise.all(Array.from({ length: 32 }, () => devToken(dev, { user: "bench@example.com", workspace: "bench" })));
  const t0 = performance.now();
  await Promise.all(
    c32Tokens.map(async (token) => {
      const k = kinds(base, token).find((x) => x.name === "read_login")!;
      for (let i = 0; i < PER_TOKEN; i++) await gatewayCall(client, k)();
    }),
  );
  const wall = performance.now() - t0;
  const db = new pg.Client({ connectionString: base.postgres.superuserUrl });
  await db.connect();
  const live = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_roles WHERE rolname ~ '^gh_[0-9a-f]{16}$' AND rolcanlogin");
  await db.end();
  return {
    first_call_static_p50: summarize(firstStatic).p50,
    first_call_dynamic_p50: summarize(first).p50,
    second_call_dynamic_p50: summarize(second).p50,
    tokens: TOKENS,
    c32: { tokens: c32Tokens.length, calls: c32Tokens.length * PER_TOKEN, calls_per_s: ((c32Tokens.length * PER_TOKEN) / wall) * 1000 },
    live_logins: live.rows[0]?.n ?? 0,
    tokens_with_logins: tokensWithLogins.size,
  };
}

async function suite(target: Target, base: Base, resultsDir: string, stamp: string): Promise<TargetResult> {
  const client = new Client(target.origin);
  const dev = { workerUrl: target.origin, devSecret: base.secrets.devSecret! };
  // Tokens on the sql tier live 10 minutes (README "Security model"); a slow run re-mints them between phases.
  let minted = 0;
  let list: Kind[] = [];
  const fresh = async (): Promise<Kind[]> => {
    if (Date.now() - minted > 240_000) {
      list = kinds(base, await devToken(dev, { user: "bench@example.com", workspace: "bench" }));
      minted = Date.now();
    }
    return list;
  };
  await fresh();
  const roles: Roles = () => ({ ...target.processes(), "local Neon endpoint": [base.neonPid], Postgres: descendants(process.pid).filter((p) => commandName(p) === "postgres") });
  const gatewayRoles = Object.keys(target.processes());
  const loadBefore = loadAverage();
  let calls = 0;

  process.stdout.write(`  ${target.name}: warming up`);
  for (const k of list) {
    process.stdout.write(` ${k.name}`);
    await drive(gatewayCall(client, k), k.name === "read" ? COUNTS.warmup * 2 : COUNTS.warmup, 1);
    if (k.direct) await drive(k.direct, COUNTS.warmup, 1);
  }

  process.stdout.write(" · heap");
  const inspector = await Inspector.connect(target.inspectorPort, "gatehouse");
  const heapBefore = await inspector.heapAfterGc();
  inspector.close();

  const out: TargetResult["kinds"] = {};
  process.stdout.write(" · measuring");
  for (const name of list.map((k) => k.name)) {
    const k = (await fresh()).find((x) => x.name === name)!;
    process.stdout.write(` ${k.name}`);
    const count = k.direct ? COUNTS.c1 : COUNTS.c1Other;
    // Gateway and direct in alternating blocks, so drift (GC, the other agents on this machine) hits both alike.
    const gw: number[] = [];
    const dr: number[] = [];
    let wall = 0;
    const cpu: Record<string, number> = {};
    for (let done = 0; done < count; done += 100) {
      const m = Math.min(100, count - done);
      const c0 = cpuSnapshot(roles);
      const g = await drive(gatewayCall(client, k), m, 1);
      const c1 = cpuSnapshot(roles);
      for (const [role, v] of Object.entries(cpuBetween(c0, c1))) cpu[role] = (cpu[role] ?? 0) + v;
      gw.push(...g.samples);
      wall += g.wallMs;
      if (k.direct) dr.push(...(await drive(k.direct, m, 1)).samples);
    }
    calls += count;
    const g = summarize(gw);
    const perCall = Object.fromEntries(Object.entries(cpu).map(([r, v]) => [r, v / count]));
    const result: KindResult = {
      label: k.label,
      c1: { p50: g.p50, p99: g.p99, mean: g.mean, calls_per_s: (count / wall) * 1000 },
      process_cpu_ms_per_call: perCall,
      gateway_process_cpu_ms_per_call: gatewayRoles.reduce((a, r) => a + (perCall[r] ?? 0), 0),
    };
    if (k.direct) {
      const d = summarize(dr);
      result.direct = { p50: d.p50, p99: d.p99, mean: d.mean };
      result.overhead = { p50: g.p50 - d.p50, p99: g.p99 - d.p99 };
    }
    if (k.concurrent) {
      result.concurrency = {};
      for (const c of CONCURRENCY) {
        const r = await drive(gatewayCall(client, k), COUNTS.concurrent, c);
        calls += COUNTS.concurrent;
        const s = summarize(r.samples);
        result.concurrency[`c${c}`] = { calls_per_s: (COUNTS.concurrent / r.wallMs) * 1000, p50: s.p50, p99: s.p99 };
      }
    }
    // Round trips on the critical path, from the instrumented Worker (BENCH_INSTRUMENT): the most common shape.
    const shapes = new Map<string, { path: CriticalPath; events: string; n: number }>();
    // Each event's duration as the isolate saw it (the Workers clock advances across I/O), per position.
    const durations = new Map<string, number[]>();
    for (let i = 0; i < COUNTS.roundTrips; i++) {
      const r = await client.post("/mcp", { ...k.headers, [ROUND_TRIPS_REQUEST_HEADER]: "1" }, k.body);
      const header = r.headers[ROUND_TRIPS_RESPONSE_HEADER];
      if (typeof header !== "string") break;
      const events = parseRoundTrips(header);
      const path = criticalPath(events);
      for (const e of events) if (e.end !== undefined) durations.set(`${e.kind}:${e.op}`, [...(durations.get(`${e.kind}:${e.op}`) ?? []), e.end - e.start]);
      const key = JSON.stringify(path);
      const shape = shapes.get(key) ?? { path, events: events.map((e) => `${e.kind}:${e.op}${e.endSeq === undefined ? "(open)" : ""}`).join(" → "), n: 0 };
      shape.n++;
      shapes.set(key, shape);
    }
    calls += COUNTS.roundTrips;
    const common = [...shapes.values()].sort((a, b) => b.n - a.n)[0];
    if (common) {
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const ms = Object.fromEntries([...durations].map(([op, xs]) => [op, Number(median(xs).toFixed(2))]));
      result.round_trips = { ...common.path, events: common.events, median_ms: ms };
    }
    out[k.name] = result;
  }

  // The CPU budget per process at c=32 (read): what each process spends per call, and how much of a core.
  const read = (await fresh()).find((k) => k.name === "read")!;
  const b0 = cpuSnapshot(roles);
  const r32 = await drive(gatewayCall(client, read), COUNTS.concurrent, 32);
  const b1 = cpuSnapshot(roles);
  calls += COUNTS.concurrent;
  const budget = Object.fromEntries(Object.entries(cpuDelta(b0, b1, COUNTS.concurrent)).map(([role, ms]) => [role, { ms_per_call: ms, core_percent: ((ms * COUNTS.concurrent) / r32.wallMs) * 100 }]));

  // What one write to the local D1 costs, alone: the simulator's share of the budget above (each call writes its
  // audit intent and its completion).
  const INSERTS = 300;
  const d0 = cpuSnapshot(roles);
  const inserted = await client.post(`/dev/bench/audit-insert?n=${INSERTS}`, { "x-gatehouse-dev-secret": base.secrets.devSecret! }, "");
  const d1 = cpuSnapshot(roles);
  const insertWall = inserted.status === 200 ? (JSON.parse(inserted.body) as { ms_per_insert: number }).ms_per_insert : Number.NaN;
  const insertCpu = cpuDelta(d0, d1, INSERTS);
  const localD1Insert = { wall_ms: insertWall, process_cpu_ms: gatewayRoles.reduce((a, r) => a + (insertCpu[r] ?? 0), 0) };

  const dynamicLogins = await measureDynamicLogins(client, dev, base);

  // Isolate CPU per call from a V8 CPU profile of the user Worker, one profile per call kind.
  process.stdout.write(" profile");
  const profiler = await Inspector.connect(target.inspectorPort, "gatehouse");
  for (const name of list.map((k) => k.name)) {
    const k = (await fresh()).find((x) => x.name === name)!;
    await drive(gatewayCall(client, k), 20, 1);
    // Collect the previous phase's garbage first, so each kind's profile holds only its own GC.
    await profiler.heapAfterGc();
    await profiler.startProfile(PROFILE_INTERVAL_US);
    await drive(gatewayCall(client, k), COUNTS.profile, 1);
    const profile = await profiler.stopProfile();
    calls += COUNTS.profile + 20;
    const summary = summarizeProfile(profile, COUNTS.profile, PROFILE_INTERVAL_US, target.bundlePath);
    out[k.name]!.profile = summary;
    if (PROFILE) await writeFile(join(resultsDir, `${stamp}-${target.name.replace(/\s+/g, "-")}-${k.name}.cpuprofile`), JSON.stringify(profile));
  }

  if (COUNTS.heap > 0) {
    process.stdout.write(` heap (${COUNTS.heap} calls)`);
    for (let done = 0; done < COUNTS.heap; done += 2000) {
      const k = (await fresh()).find((x) => x.name === "read")!;
      await drive(gatewayCall(client, k), Math.min(2000, COUNTS.heap - done), 8);
    }
    calls += COUNTS.heap;
  }
  const heapAfter = await profiler.heapAfterGc();
  profiler.close();
  client.close();
  process.stdout.write("\n");
  return {
    kinds: out,
    cpu_budget_c32_read: budget,
    local_d1_insert: localD1Insert,
    dynamic_logins: dynamicLogins,
    heap: { before_bytes: heapBefore.usedBytes, after_bytes: heapAfter.usedBytes, calls_between: calls },
    gateway_roles: gatewayRoles,
    load_average: { before: loadBefore, after: loadAverage() },
  };
}

async function bundleSize(outdir: string): Promise<{ raw_bytes: number; gzip_bytes: number }> {
  let raw = 0;
  let gz = 0;
  for (const f of await readdir(outdir)) {
    if (!/\.(js|mjs|wasm)$/.test(f) || !(await stat(join(outdir, f))).isFile()) continue;
    const buf = await readFile(join(outdir, f));
    raw += buf.length;
    gz += gzipSync(buf).length;
  }
  return { raw_bytes: raw, gzip_bytes: gz };
}

function gitDescribe(): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no", "--", "src"], { cwd: ROOT }).toString().trim() !== "";
    return dirty ? `${sha}+uncommitted src changes` : sha;
  } catch {
    return "unknown";
  }
}

const f2 = (v: number | undefined, w = 7) => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(2)).padStart(w);
const f0 = (v: number | undefined, w = 6) => (v === undefined ? "–" : v.toFixed(0)).padStart(w);

function printTarget(name: string, t: TargetResult): void {
  console.log(`\n${name}  (load average ${t.load_average.before.join(" ")} → ${t.load_average.after.join(" ")})`);
  console.log(
    `${"call kind".padEnd(34)} ${"p50 c=1".padStart(7)} ${"p99 c=1".padStart(7)}   ${"over direct p50/p99".padStart(19)}   ${"calls/s c=1/8/32".padStart(20)}   ${"isolate CPU".padStart(11)} ${"process CPU".padStart(11)}   D1 before Neon / before response (open) · RL ∥ D1`,
  );
  for (const k of Object.values(t.kinds)) {
    const rt = k.round_trips;
    const conc = k.concurrency ? `${f0(k.c1.calls_per_s)}/${f0(k.concurrency.c8?.calls_per_s)}/${f0(k.concurrency.c32?.calls_per_s)}` : `${f0(k.c1.calls_per_s)}/     –/     –`;
    console.log(
      `${k.label.padEnd(34)} ${f2(k.c1.p50)} ${f2(k.c1.p99)}   ${k.overhead ? `${f2(k.overhead.p50)} /${f2(k.overhead.p99)}` : "–".padStart(19)}   ${conc.padStart(20)}   ${f2(k.profile?.isolateMsPerCall, 8)} ms ${f2(k.gateway_process_cpu_ms_per_call, 8)} ms   ${rt ? `${rt.d1BeforeNeon} / ${rt.d1BeforeResponse} (${rt.d1OpenAtResponse})${rt.rateLimitOverlapsD1 === undefined ? "" : rt.rateLimitOverlapsD1 ? " · parallel" : " · in series"}` : "–"}`,
    );
  }
  console.log(`round trips (first call of each kind, in start order; "(open)" = still running when the response left):`);
  for (const k of Object.values(t.kinds)) if (k.round_trips) console.log(`  ${k.label.padEnd(34)} ${k.round_trips.events}`);
  console.log("median duration of each awaited round trip as the isolate saw it (ms):");
  for (const k of Object.values(t.kinds)) {
    const ms = k.round_trips?.median_ms ?? {};
    if (Object.keys(ms).length > 0)
      console.log(
        `  ${k.label.padEnd(34)} ${Object.entries(ms)
          .map(([op, v]) => `${op} ${v.toFixed(2)}`)
          .join(" · ")}`,
      );
  }
  if (t.heap) console.log(`isolate heap after GC: ${(t.heap.before_bytes / 1048576).toFixed(2)} MB before, ${(t.heap.after_bytes / 1048576).toFixed(2)} MB after ${t.heap.calls_between} calls`);
  console.log("CPU budget per process, read at c=32 (ms per call, % of one core):");
  for (const [role, v] of Object.entries(t.cpu_budget_c32_read)) console.log(`  ${role.padEnd(44)} ${f2(v.ms_per_call)} ms  ${f0(v.core_percent, 4)} %`);
  const d = t.dynamic_logins;
  console.log(
    `dynamic credential: a fresh token's first call ${f2(d.first_call_dynamic_p50, 0)} ms p50 (creates its login; static: ${f2(d.first_call_static_p50, 0)} ms), its next call ${f2(d.second_call_dynamic_p50, 0)} ms (${d.tokens} tokens); ${d.c32.tokens} fresh tokens at c=32: ${f0(d.c32.calls_per_s, 0)} calls/s; live logins ${d.live_logins} for ${d.tokens_with_logins} tokens that called`,
  );
  console.log(
    `local D1 alone: one audit insert takes ${f2(t.local_d1_insert.wall_ms, 0)} ms and ${f2(t.local_d1_insert.process_cpu_ms, 0)} ms of the gateway process's CPU (a call writes two rows: intent and completion)`,
  );
}

function printProfiles(name: string, t: TargetResult): void {
  for (const k of Object.values(t.kinds)) {
    const p = k.profile;
    if (!p) continue;
    console.log(
      `\n${name} · ${k.label}: isolate ${p.isolateMsPerCall.toFixed(3)} ms/call (JS ${(p.jsMs / p.calls).toFixed(3)}, GC ${(p.gcMs / p.calls).toFixed(3)}; "(program)" ${(p.programMs / p.calls).toFixed(3)} not included)`,
    );
    console.log(
      `  top packages (self ms/call): ${p.packages
        .slice(0, 8)
        .map((x) => `${x.package} ${x.msPerCall.toFixed(3)}`)
        .join(", ")}`,
    );
    console.log("  top functions (self ms/call):");
    for (const fn of p.topFunctions.slice(0, 10)) console.log(`    ${fn.msPerCall.toFixed(3)}  ${fn.function.padEnd(32)} ${fn.package.padEnd(28)} ${fn.where}`);
  }
}

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const resultsDir = join(ROOT, "bench/results");
await mkdir(resultsDir, { recursive: true });
const stateDir = await mkdtemp(join(tmpdir(), "gatehouse-bench-"));
const outdir = join(stateDir, "dist");
const started = performance.now();
console.log(`gatehouse bench (${gitDescribe()}), ${LEGACY ? "2025-era requests" : `MCP ${MODERN} requests`}, state in ${stateDir}`);
const ports = { postgres: await freePort(), neon: await freePort() };
// The bench workspace's tools use the demo's credentials (the deployment's bindings, src/policy/credentials.ts).
const extraVars = {
  DATABASE_CREDENTIALS: JSON.stringify({
    DB_URL_REPORTING: { tier: "read", workspaces: ["demo", "bench"] },
    DB_URL_DIAGNOSTIC: { tier: "sql", workspaces: ["demo", "bench"] },
    DB_URL_WRITER: { tier: "write", workspaces: ["demo"] },
    DB_URL_REPORTING_LOGIN: { tier: "read", workspaces: ["bench"], mode: "dynamic", role: "gatehouse_reporting" },
  }),
  BENCH_INSTRUMENT: "true",
};
// Ctrl-C or a timeout stops what the run started (wrangler dev runs in its own process group).
let current: Target | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void (current ? current.stop() : Promise.resolve()).finally(() => process.exit(130)));
const [base] = await Promise.all([startBase(stateDir, ports, extraVars), TARGETS.includes("miniflare") ? buildBundle(outdir) : Promise.resolve()]);
const results: Record<string, unknown> & { duration_s?: number } = {
  date: new Date().toISOString(),
  commit: gitDescribe(),
  era: LEGACY ? "2025" : MODERN,
  counts: COUNTS,
  profile_interval_us: PROFILE_INTERVAL_US,
};
const targets: Record<string, TargetResult> = {};
try {
  const policies = [join(ROOT, "policies/demo.yaml"), join(ROOT, "bench/policy.yaml")];
  if (TARGETS.includes("wrangler")) {
    const port = await freePort();
    const t = await startWranglerTarget(base, port, await freePort(), policies, (dev) => {
      const all = descendants(dev.child.pid!);
      const workerd = all.filter((p) => commandName(p) === "workerd");
      const proxy = listeningPid(port, workerd);
      return {
        "wrangler (node)": all.filter((p) => commandName(p) !== "workerd" && commandName(p) !== "esbuild"),
        "workerd: wrangler's proxy worker": proxy ? [proxy] : [],
        "workerd: user worker + local D1 + rate limits": workerd.filter((p) => p !== proxy),
      };
    });
    current = t;
    try {
      targets["wrangler dev"] = await suite(t, base, resultsDir, stamp);
      await writeFile(join(resultsDir, `${stamp}.json`), JSON.stringify({ ...results, targets }, null, 2));
    } finally {
      await t.stop();
      current = undefined;
    }
  }
  if (TARGETS.includes("miniflare")) {
    if (!TARGETS.includes("wrangler")) throw new Error("--target=miniflare needs the policies applied by the wrangler dev phase; run both");
    const t = await startMiniflareTarget(base, outdir, await freePort(), await freePort());
    const workerd = () => descendants(process.pid).filter((p) => commandName(p) === "workerd");
    t.processes = () => ({ "workerd: user worker + local D1 + rate limits": workerd() });
    current = t;
    try {
      targets.miniflare = await suite(t, base, resultsDir, stamp);
    } finally {
      await t.stop();
      current = undefined;
    }
    results.bundle = await bundleSize(outdir);
  }
} finally {
  await base.stop();
  await rm(stateDir, { recursive: true, force: true });
}
results.targets = targets;
results.duration_s = (performance.now() - started) / 1000;
results.load_average_end = loadAverage();

for (const [name, t] of Object.entries(targets)) printTarget(name, t);
if (PROFILE) for (const [name, t] of Object.entries(targets)) printProfiles(name, t);
const bundle = results.bundle as { raw_bytes: number; gzip_bytes: number } | undefined;
if (bundle) console.log(`\nbundle (wrangler deploy --dry-run): ${(bundle.raw_bytes / 1024).toFixed(0)} KiB raw, ${(bundle.gzip_bytes / 1024).toFixed(0)} KiB gzip`);
const file = join(resultsDir, `${stamp}.json`);
await writeFile(file, JSON.stringify(results, null, 2));
console.log(`\n${(results.duration_s ?? 0).toFixed(0)} s; written to ${file}${PROFILE ? " (and the .cpuprofile files next to it)" : ""}`);
