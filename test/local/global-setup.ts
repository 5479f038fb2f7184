// Services for the `local` suite, started once: embedded Postgres in a temporary directory, a scratch database
// owned by a test role, and the local Neon endpoint in front of it, all on free 127.0.0.1 ports. Teardown stops
// both and removes the directory.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import type { NeonEndpoint } from "../../local/neon-http/server";
import { startNeonEndpoint } from "../../local/neon-http/server";
import type { LocalPostgres } from "../../local/postgres";
import { freePort, startPostgres } from "../../local/postgres";

export interface NeonHttpFixture {
  /** http://127.0.0.1:<port>/sql */
  endpointUrl: string;
  pgPort: number;
  superuserUrl: string;
  database: string;
  user: string;
  password: string;
  /** Milliseconds startPostgres took here (initdb included). */
  postgresStartMs: number;
}

declare module "vitest" {
  interface ProvidedContext {
    neonHttp: NeonHttpFixture;
  }
}

const DATABASE = "neon_http_test";
const ROLE = "neon_http_test";

let scratch: string | undefined;
let postgres: LocalPostgres | undefined;
let endpoint: NeonEndpoint | undefined;

export async function setup(project: TestProject): Promise<void> {
  const log = process.env.GATEHOUSE_VERBOSE === "1" ? (line: string) => console.log(line) : undefined;
  scratch = await mkdtemp(join(tmpdir(), "gatehouse-local-"));
  const started = performance.now();
  postgres = await startPostgres({ dataDir: join(scratch, "postgres"), port: await freePort(), ...(log ? { log } : {}) });
  const postgresStartMs = Math.round(performance.now() - started);

  const password = randomBytes(18).toString("base64url");
  const admin = new pg.Client({ connectionString: postgres.superuserUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD ${admin.escapeLiteral(password)}`);
    await admin.query(`CREATE DATABASE ${DATABASE} OWNER ${ROLE}`);
  } finally {
    await admin.end();
  }

  endpoint = await startNeonEndpoint({ port: 0, pgHost: "127.0.0.1", pgPort: postgres.port, ...(log ? { log } : {}) });
  project.provide("neonHttp", {
    endpointUrl: endpoint.url,
    pgPort: postgres.port,
    superuserUrl: postgres.superuserUrl,
    database: DATABASE,
    user: ROLE,
    password,
    postgresStartMs,
  });
}

export async function teardown(): Promise<void> {
  await endpoint?.close();
  await postgres?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
}
