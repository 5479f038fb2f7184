import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { parse } from "yaml";
import { startPostgres, type LocalPostgres } from "./postgres";
import { brokerConnectionString, roleConnectionString, setupDatabase } from "./setup-db";
import { startNeonEndpoint, type NeonEndpoint } from "./neon-http/server";
import { dotenv, loadOrCreateSecrets, type LocalSecrets } from "./secrets";
import { migrateLocalD1 } from "./d1";
import { startWranglerDev, type WranglerDev } from "./wrangler";

export const DATABASE = "gatehouse";

export interface StackOptions {
  /** Holds Postgres data, local D1 state and generated secrets; reused between runs. */
  stateDir: string;
  ports: { worker: number; neon: number; postgres: number };
  /** Where the Worker's variables and secrets are written (`.dev.vars` for `npm run dev`). */
  envFile: string;
  /** Policy files to apply, in order (YAML). */
  policies: string[];
  /** More Worker variables, written to the env file after the stack's own (e.g. OIDC_* for the upstream IdP). */
  extraVars?: Record<string, string>;
  log?: (line: string) => void;
  /** Receives progress lines ("postgres ready in 0.6 s"). */
  progress?: (line: string) => void;
  /** The local Neon endpoint's fault injection (local/neon-http/test-hooks.ts), for the resilience suite only. */
  neonTestHooks?: boolean;
  /**
   * Serve the Worker as a deployment (`npm run dev:deployed`): PUBLIC_ORIGIN is this https origin, not loopback, so
   * there is no dev login, no /dev/* endpoint and no NEON_LOCAL_ENDPOINT (the tools cannot reach the database);
   * wrangler serves TLS with `certificate` (local/tls-cert.ts). No policy and no demo task client are applied:
   * the first policy comes from `gatehouse policy bootstrap`, so pass `policies: []`.
   */
  deployment?: { publicOrigin: string; certificate: { keyPath: string; certPath: string; cert: string } };
}

export interface Stack {
  workerUrl: string;
  mcpUrl: string;
  neonUrl: string;
  postgres: LocalPostgres;
  secrets: LocalSecrets;
  /** Connection strings of the tier roles, for tests that compare with direct SQL. */
  roleUrls: { reporting: string; diagnostic: string; writer: string };
  /**
   * The broker's connection string: the demo's DB_URL_DIAGNOSTIC, dynamic in wrangler.toml's DATABASE_CREDENTIALS,
   * so each token's execute_sql runs as its own gh_… login that inherits gatehouse_diagnostic.
   */
  brokerUrl: string;
  stop(): Promise<void>;
}

/**
 * The whole local stack of README "Demo": embedded Postgres with hardening and demo data, the local Neon HTTP
 * endpoint, D1 with migrations/ and the policies, and `wrangler dev`. `stop()` stops everything it started,
 * in reverse order, also when start-up failed half-way.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const progress = opts.progress ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  const timed = async <T>(label: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const v = await f();
    progress(`${label} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    return v;
  };
  try {
    await mkdir(opts.stateDir, { recursive: true });
    const secrets = await loadOrCreateSecrets(join(opts.stateDir, "secrets.json"));
    const postgres = await timed(`postgres ready on 127.0.0.1:${opts.ports.postgres}`, () =>
      startPostgres({ dataDir: join(opts.stateDir, "postgres"), port: opts.ports.postgres, superuserPassword: secrets.superuserPassword, ...(opts.log ? { log: opts.log } : {}) }),
    );
    stops.push(() => postgres.stop());
    await timed("roles, demo schema and data applied", () =>
      setupDatabase(postgres.superuserUrl, { database: DATABASE, passwords: secrets.rolePasswords, brokerPassword: secrets.brokerPassword!, testAids: true }),
    );
    const neon: NeonEndpoint = await timed(`neon http endpoint on 127.0.0.1:${opts.ports.neon}`, () =>
      startNeonEndpoint({ port: opts.ports.neon, pgHost: "127.0.0.1", pgPort: postgres.port, ...(opts.log ? { log: opts.log } : {}), ...(opts.neonTestHooks ? { testHooks: true } : {}) }),
    );
    stops.push(() => neon.close());

    const roleUrls = {
      reporting: roleConnectionString("reporting", secrets.rolePasswords.reporting, DATABASE),
      diagnostic: roleConnectionString("diagnostic", secrets.rolePasswords.diagnostic, DATABASE),
      writer: roleConnectionString("writer", secrets.rolePasswords.writer, DATABASE),
    };
    const brokerUrl = brokerConnectionString(secrets.brokerPassword!, DATABASE);
    const deployment = opts.deployment;
    const workerUrl = deployment?.publicOrigin ?? `http://127.0.0.1:${opts.ports.worker}`;
    await writeFile(
      opts.envFile,
      dotenv({
        PUBLIC_ORIGIN: workerUrl,
        ...(deployment ? { DEV_ENDPOINTS: "false" } : { NEON_LOCAL_ENDPOINT: neon.url, DEV_ENDPOINTS: "true", DEV_SECRET: secrets.devSecret! }),
        SIGNING_KEY: secrets.signingKey,
        AUDIT_ANCHOR_KEY: secrets.anchorKey!,
        DB_URL_REPORTING: roleUrls.reporting,
        DB_URL_DIAGNOSTIC: brokerUrl,
        DYNAMIC_ROLE_KEY: secrets.dynamicRoleKey!,
        DB_URL_WRITER: roleUrls.writer,
        ...opts.extraVars,
      }),
      { mode: 0o600 },
    );
    // writeFile's mode applies only to a new file; an existing one (e.g. copied from the example) is tightened too.
    await chmod(opts.envFile, 0o600);

    const persistTo = join(opts.stateDir, "wrangler");
    // As a deployment does: migrations/ applied with wrangler (a state dir from before migrations is adopted first).
    await timed("D1 migrations applied", () => migrateLocalD1(persistTo));
    const worker: WranglerDev = await timed(`wrangler dev on ${workerUrl}`, () =>
      startWranglerDev({
        port: opts.ports.worker,
        persistTo,
        envFile: opts.envFile,
        ...(opts.log ? { log: opts.log } : {}),
        ...(deployment ? { httpsCertificate: deployment.certificate, probe: () => httpsAnswers(workerUrl, opts.ports.worker, deployment.certificate.cert) } : {}),
      }),
    );
    stops.push(() => worker.stop());

    if (!deployment) {
      const dev = { workerUrl, devSecret: secrets.devSecret! };
      for (const file of opts.policies) await timed(`policy ${file} applied`, () => applyPolicyFile(dev, file));
      await createDemoTaskClient(dev, secrets);
    }
    return { workerUrl, mcpUrl: `${workerUrl}/mcp`, neonUrl: neon.url, postgres, secrets, roleUrls, brokerUrl, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** True once `origin` (a local host name) answers 200 on 127.0.0.1:`port` with a certificate `ca` verifies. */
function httpsAnswers(origin: string, port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest({ host: "127.0.0.1", port, servername: new URL(origin).hostname, headers: { host: new URL(origin).host }, path: "/", ca, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

/** A running dev Worker and the secret its /dev/* endpoints require. */
export interface DevTarget {
  workerUrl: string;
  devSecret: string;
}

export function devPost(dev: DevTarget, path: string, body: unknown): Promise<Response> {
  return fetch(`${dev.workerUrl}${path}`, { method: "POST", headers: { "Content-Type": "application/json", "X-Gatehouse-Dev-Secret": dev.devSecret }, body: JSON.stringify(body) });
}

/** The demo task client of README "Demo": nightly-revenue-report, revenue_summary only, 10-minute tokens. */
async function createDemoTaskClient(dev: DevTarget, secrets: LocalSecrets): Promise<void> {
  const t = secrets.taskClient!;
  const body = { task: "nightly-revenue-report", workspace: "demo", client_id: t.clientId, client_secret: t.clientSecret, tools: ["revenue_summary"], ttl_seconds: 600 };
  const res = await devPost(dev, "/dev/task-client", body);
  if (!res.ok) throw new Error(`demo task client was refused (${res.status})`);
}

/** Applies a YAML policy through the dev-only endpoint; validation errors come back with their paths. */
export async function applyPolicyFile(dev: DevTarget, file: string): Promise<void> {
  const document: unknown = parse(await readFile(file, "utf8"));
  const res = await devPost(dev, "/dev/policy", document);
  if (!res.ok) throw new Error(`policy ${file} was refused (${res.status}): ${await res.text()}`);
}
