import { createServer, type Server } from "node:http";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile, readdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { freePort, startPostgres, type LocalPostgres } from "../../local/postgres";
import { DATABASE, startStack, type Stack } from "../../local/stack";
import { ROOT } from "../../local/wrangler";

declare module "vitest" {
  interface ProvidedContext {
    resilience: {
      workerUrl: string;
      mcpUrl: string;
      /** The local Neon endpoint's origin; its fault injection is on (local/neon-http/test-hooks.ts). */
      neonOrigin: string;
      stateDir: string;
      devSecret: string;
      /** Superuser connection to the gatehouse database (pg_stat_statements is loaded and created there). */
      pgUrl: string;
      /** POST <controlUrl>/postgres/kill | /postgres/start: this process owns the Postgres server. */
      controlUrl: string;
    };
  }
}

let stack: Stack | undefined;
let stateDir: string | undefined;
let current: LocalPostgres | undefined;
let control: Server | undefined;

/**
 * The resilience suite's own stack (local/stack.ts), separate from e2e's because its cases kill Postgres, stall the
 * Neon endpoint and break D1. Postgres is restarted once at start with pg_stat_statements preloaded, so the
 * cases can prove from Postgres itself which statements reached it; the server is then owned by this process,
 * which kills and restarts it on request (the test files run in other processes).
 */
export async function setup(project: TestProject): Promise<void> {
  stateDir = await mkdtemp(join(tmpdir(), "gatehouse-resilience-"));
  const ports = { worker: await freePort(), neon: await freePort(), postgres: await freePort() };
  stack = await startStack({
    stateDir,
    ports,
    envFile: join(stateDir, "worker.env"),
    policies: [join(ROOT, "policies/demo.yaml"), join(ROOT, "test/resilience/policy.yaml")],
    neonTestHooks: true,
    extraVars: {
      DATABASE_CREDENTIALS: JSON.stringify({
        DB_URL_REPORTING: { tier: "read", workspaces: ["demo", "resilience"] },
        // Dynamic, as in the demo: the stack's DB_URL_DIAGNOSTIC is the broker's, each token runs as its own login.
        DB_URL_DIAGNOSTIC: { tier: "sql", workspaces: ["demo", "resilience"], mode: "dynamic", role: "gatehouse_diagnostic" },
        DB_URL_WRITER: { tier: "write", workspaces: ["demo", "resilience"] },
      }),
    },
    ...(process.env.GATEHOUSE_VERBOSE === "1" ? { log: (l: string) => console.log(l), progress: (l: string) => console.log(l) } : {}),
  });
  const dataDir = join(stateDir, "postgres");
  const gatehouseUrl = stack.postgres.superuserUrl.replace(/\/postgres$/, `/${DATABASE}`);
  try {
    await query(stack.postgres.superuserUrl, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
    await stack.postgres.stop();
    current = await startPostgres({ dataDir, port: ports.postgres });
    await query(gatehouseUrl, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    control = await startControl(dataDir, ports.postgres);
  } catch (e) {
    await teardown();
    throw e;
  }
  const address = control.address() as { port: number };
  project.provide("resilience", {
    workerUrl: stack.workerUrl,
    mcpUrl: stack.mcpUrl,
    neonOrigin: new URL(stack.neonUrl).origin,
    stateDir,
    devSecret: stack.secrets.devSecret!,
    pgUrl: gatehouseUrl,
    controlUrl: `http://127.0.0.1:${address.port}/${controlSecret}`,
  });
}

export async function teardown(): Promise<void> {
  await new Promise<void>((r) => (control ? control.close(() => r()) : r()));
  await stack?.stop();
  await current?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
}

async function query(url: string, sql: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const controlSecret = randomBytes(16).toString("hex");

function startControl(dataDir: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const route = req.method === "POST" ? req.url : undefined;
    const run = async () => {
      const t = performance.now();
      if (route === `/${controlSecret}/postgres/kill`) {
        const killed = await killPostgres(dataDir);
        return answer(200, { killed, ms: performance.now() - t });
      }
      if (route === `/${controlSecret}/postgres/start`) {
        current = await startPostgres({ dataDir, port });
        return answer(200, { ms: performance.now() - t });
      }
      answer(404, {});
    };
    run().catch((e: unknown) => answer(500, { error: e instanceof Error ? e.message : String(e) }));
  });
  return new Promise((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, () => resolve(server)));
}

/**
 * SIGKILL to the postmaster and every process under it at once, as when the host or a container is OOM-killed:
 * no shutdown, no goodbye to clients. Resolves when all of them are gone.
 */
async function killPostgres(dataDir: string): Promise<number[]> {
  const pid = Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  const pids = [pid, ...(await descendants(pid))];
  for (const p of pids) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 500 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 20));
  return pids;
}

async function descendants(root: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid) parent.set(Number(entry), ppid);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp !== p) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** A process that is gone or a zombie (killed, not yet reaped) counts as dead. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
