import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import { startPostgres, type LocalPostgres } from "../local/postgres";
import { dotenv, loadOrCreateSecrets, type LocalSecrets } from "../local/secrets";
import { BROKER_ROLE, TIER_ROLES, brokerConnectionString, roleConnectionString, setupDatabase } from "../local/setup-db";
import { DATABASE, applyPolicyFile } from "../local/stack";
import { ROOT, runWrangler, startWranglerDev, type WranglerDev } from "../local/wrangler";

/**
 * The bench's stack: the same parts as `npm run dev` (local/stack.ts), except that the local Neon endpoint runs in
 * its own process (so its CPU is reported apart from the load generator's) and the Worker can run either under
 * `wrangler dev` (trace collector off, inspector on a known port) or straight in Miniflare from the deploy bundle.
 */
export interface Base {
  stateDir: string;
  persistTo: string;
  postgres: LocalPostgres;
  secrets: LocalSecrets;
  neonUrl: string;
  neonPid: number;
  roleUrls: { reporting: string; diagnostic: string; writer: string };
  /** Worker variables and secrets except PUBLIC_ORIGIN (set per target). */
  vars: Record<string, string>;
  stop(): Promise<void>;
}

export async function startBase(stateDir: string, ports: { postgres: number; neon: number }, extraVars: Record<string, string>): Promise<Base> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const secrets = await loadOrCreateSecrets(join(stateDir, "secrets.json"));
    const postgres = await startPostgres({ dataDir: join(stateDir, "postgres"), port: ports.postgres, superuserPassword: secrets.superuserPassword });
    stops.push(() => postgres.stop());
    await setupDatabase(postgres.superuserUrl, { database: DATABASE, passwords: secrets.rolePasswords, brokerPassword: secrets.brokerPassword!, testAids: false });
    await makeReadTierDynamic(postgres.superuserUrl);
    const neon = await startNeonProcess(postgres.port, ports.neon);
    stops.push(neon.stop);
    const roleUrls = {
      reporting: roleConnectionString("reporting", secrets.rolePasswords.reporting, DATABASE),
      diagnostic: roleConnectionString("diagnostic", secrets.rolePasswords.diagnostic, DATABASE),
      writer: roleConnectionString("writer", secrets.rolePasswords.writer, DATABASE),
    };
    const persistTo = join(stateDir, "wrangler");
    // Local D1: migrations where the repository has them, else the whole schema.
    if (existsSync(join(ROOT, "migrations"))) await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo]);
    else await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", join(ROOT, "schema.sql")]);
    const vars = {
      NEON_LOCAL_ENDPOINT: neon.url,
      DEV_ENDPOINTS: "true",
      DEV_SECRET: secrets.devSecret!,
      SIGNING_KEY: secrets.signingKey,
      DB_URL_REPORTING: roleUrls.reporting,
      DB_URL_DIAGNOSTIC: roleUrls.diagnostic,
      DB_URL_WRITER: roleUrls.writer,
      // The bench's dynamic credential (bench/policy.yaml `revenue_summary_login`): the broker's login, and the key
      // the per-token logins' passwords are derived with.
      DB_URL_REPORTING_LOGIN: brokerConnectionString(secrets.brokerPassword!, DATABASE),
      DYNAMIC_ROLE_KEY: secrets.dynamicRoleKey!,
      ...extraVars,
    };
    return { stateDir, persistTo, postgres, secrets, neonUrl: neon.url, neonPid: neon.pid, roleUrls, vars, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * The bench makes the read tier dynamic too (bench/policy.yaml `reporting_login`), as an operator would by setting its
 * `dynamic` flag in postgres/roles.sql and re-running it: the broker gets ADMIN OPTION on gatehouse_reporting, without
 * using its privileges itself. roles.sql administers only the demo's dynamic tier (gatehouse_diagnostic); the next
 * setup run takes this grant away again, and this grants it again.
 */
async function makeReadTierDynamic(superuserUrl: string): Promise<void> {
  const url = new URL(superuserUrl);
  url.pathname = `/${DATABASE}`;
  const client = new pg.Client({ connectionString: url.href });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query(`GRANT ${TIER_ROLES.reporting} TO ${BROKER_ROLE} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
  } finally {
    await client.end();
  }
}

async function startNeonProcess(pgPort: number, port: number): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench/neon-endpoint.ts"), String(pgPort), String(port)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`neon endpoint exited (${code})`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface Target {
  name: "wrangler dev" | "miniflare";
  origin: string;
  inspectorPort: number;
  /** Processes of the Worker runtime, by role, for the CPU budget. */
  processes: () => Record<string, number[]>;
  /** The bundle the profile's line numbers refer to (read for package attribution), when known. */
  bundlePath?: string;
  stop(): Promise<void>;
}

export async function startWranglerTarget(base: Base, port: number, inspectorPort: number, policies: string[], processes: (dev: WranglerDev) => Record<string, number[]>): Promise<Target> {
  const origin = `http://127.0.0.1:${port}`;
  const envFile = join(base.stateDir, "worker.env");
  await writeFile(envFile, dotenv({ PUBLIC_ORIGIN: origin, ...base.vars }), { mode: 0o600 });
  await chmod(envFile, 0o600);
  // X_LOCAL_OBSERVABILITY=false: wrangler's local trace collector ([observability] in wrangler.toml does not turn it off).
  const dev = await startWranglerDev({ port, persistTo: base.persistTo, envFile, inspectorPort, env: { X_LOCAL_OBSERVABILITY: "false" } });
  try {
    for (const file of policies) await applyPolicyFile({ workerUrl: origin, devSecret: base.secrets.devSecret! }, file);
  } catch (e) {
    await dev.stop();
    throw e;
  }
  return { name: "wrangler dev", origin, inspectorPort, processes: () => processes(dev), bundlePath: newestDevBundle(), stop: dev.stop };
}

/** The bundle wrangler dev is serving (index.js in the newest .wrangler/tmp/dev-… directory): the profile refers to its lines. */
function newestDevBundle(): string | undefined {
  const dir = join(ROOT, ".wrangler", "tmp");
  try {
    return readdirSync(dir)
      .filter((d) => d.startsWith("dev-") && existsSync(join(dir, d, "index.js")))
      .map((d) => join(dir, d, "index.js"))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  } catch {
    return undefined;
  }
}

/**
 * The deploy bundle (`wrangler deploy --dry-run --outdir`) in Miniflare with the bindings wrangler.toml declares
 * (D1 on the same persisted database as wrangler dev's, rate limits, vars) plus the same secrets: no proxy worker,
 * no trace collector, one workerd process.
 */
export async function startMiniflareTarget(base: Base, outdir: string, port: number, inspectorPort: number): Promise<Target> {
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const { Miniflare, convertV4MiniflareOptions } = await import("miniflare");
  const origin = `http://127.0.0.1:${port}`;
  // wrangler.toml's bindings as wrangler dev would give them; the module list replaces its module rules.
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"));
  const { modulesRules: _rules, ...worker } = workerOptions as Record<string, unknown>;
  const modules = [
    { type: "ESModule", path: join(outdir, "index.js") },
    ...readdirSync(outdir)
      .filter((f) => f.endsWith(".wasm"))
      .map((f) => ({ type: "CompiledWasm", path: join(outdir, f) })),
  ];
  const options = convertV4MiniflareOptions({
    host: "127.0.0.1",
    port,
    inspectorPort,
    // The same local D1 (and rate-limit state) wrangler dev persisted: policies and schema are already there.
    resourcePersistencePath: join(base.persistTo, "v3"),
    logRequests: false,
    ...worker,
    name: "gatehouse",
    rootPath: outdir,
    modules,
    modulesRoot: outdir,
    bindings: { ...(workerOptions.bindings ?? {}), PUBLIC_ORIGIN: origin, ...base.vars },
  } as Parameters<typeof convertV4MiniflareOptions>[0]);
  const mf = new Miniflare(options);
  await mf.ready;
  return {
    name: "miniflare",
    origin,
    inspectorPort,
    bundlePath: join(outdir, "index.js"),
    processes: () => ({}),
    stop: () => mf.dispose(),
  };
}

/** Builds the deploy bundle once (the same as `wrangler deploy --dry-run`). */
export async function buildBundle(outdir: string): Promise<void> {
  await runWrangler(["deploy", "--dry-run", "--outdir", outdir]);
}
