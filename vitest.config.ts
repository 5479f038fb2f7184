import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { buildParserWasm } from "./scripts/build-parser-wasm";

// The guard's parser module with its smaller initial memory (src/guard/parser.ts imports it); the workerd pool does
// not run wrangler's custom build, so every test run derives it from node_modules here.
buildParserWasm();

// The worker suite's D1 is built as a deployment's is: from migrations/ (test/worker/setup.ts applies them).
const d1Migrations = await readD1Migrations(new URL("./migrations", import.meta.url).pathname);

// A throwaway signing key for the workerd suite, made fresh on every run.
const bootstrapToken = randomBytes(32).toString("base64url");
const testSigningKey = JSON.stringify({ ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), kid: `test-${randomUUID()}`, alg: "EdDSA" });

// Three suites, each starting what it needs once:
// - unit:   pure cores under src/ (no I/O, injected clocks) on Node;
// - worker: the Worker inside workerd with real D1 (miniflare), no Postgres;
// - local:  the local Neon SQL-over-HTTP endpoint driven by @neondatabase/serverless against embedded Postgres;
// - e2e:    wrangler dev + local Neon endpoint + embedded Postgres, driven by real MCP clients;
// - resilience: the same stack, its own instance, under faults, load and protocol abuse.
export default defineConfig({
  test: {
    // Two files at a time (vitest's default here is one: cores - 1). The e2e suite, whose files run one after another,
    // overlaps first with the unit and worker suites, then with the resilience suite (groupOrder 1; seen to start once
    // unit and worker are done), whose files also run one at a time. 905 s in one worker, 751–780 s in two, on 2 cores.
    maxWorkers: 2,
    projects: [
      {
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                PUBLIC_ORIGIN: "http://127.0.0.1:8787",
                DEV_ENDPOINTS: "true",
                SIGNING_KEY: testSigningKey,
                // Override whatever a local `npm run dev` left in .dev.vars, which the plugin also reads.
                DEV_SECRET: "",
                NEON_LOCAL_ENDPOINT: "",
                // .dev.vars also holds the dev stack's anchor key (the archive tests would verify against heads signed
                // with it) and its real database URLs: empty here means unset, as on a clean clone.
                AUDIT_ANCHOR_KEY: "",
                DB_URL_REPORTING: "",
                DB_URL_WRITER: "",
                // Present but unreachable: a tool on it that the deployment does not bind must be refused before any
                // connection is tried (test/worker/credentials.test.ts).
                DB_URL_DIAGNOSTIC: "postgresql://gatehouse_broker:unused@127.0.0.1:9/gatehouse",
                // wrangler.toml makes DB_URL_DIAGNOSTIC dynamic, which needs this key (a fixed test value, 32 bytes).
                DYNAMIC_ROLE_KEY: "q6l8zRkXw0cAN3V0mB1yN5lRrX5hY8cJ0m2G4a7oT9s",
                // The deployment's operators read every audit row (test/worker/audit-scope.test.ts).
                OPERATORS: "ops@example.com",
                // The one-time first-policy secret (test/worker/admin-bootstrap.test.ts).
                BOOTSTRAP_TOKEN: bootstrapToken,
                TEST_MIGRATIONS: d1Migrations,
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["test/worker/setup.ts"],
        },
      },
      {
        test: {
          name: "local",
          include: ["test/local/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/local/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // Its files share one Postgres: roles.test.ts re-applies roles.sql (resetting the tier roles' settings)
          // while broker.test.ts reads those settings back.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // Faults, load and abuse on a stack of its own (docs/reliability.md): it kills Postgres and stalls the Neon
        // endpoint, so it shares nothing with e2e. RESILIENCE_LOAD_CALLS shrinks the load case while developing.
        test: {
          name: "resilience",
          include: ["test/resilience/**/*.test.ts"],
          sequence: { groupOrder: 1 },
          environment: "node",
          globalSetup: ["test/resilience/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
