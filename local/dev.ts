import { join } from "node:path";
import { startStack } from "./stack";
import { ROOT } from "./wrangler";

/**
 * `npm run dev`: the whole local stack with the demo (README "Demo"). State lives in .data/ (git-ignored) and is
 * reused; Ctrl-C stops every process this started.
 */
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ports = { worker: port("GATEHOUSE_PORT", 8787), neon: port("NEON_LOCAL_PORT", 4444), postgres: port("PG_PORT", 54329) };
const verbose = process.env.GATEHOUSE_VERBOSE === "1";

const started = performance.now();
const stack = await startStack({
  stateDir: join(ROOT, ".data"),
  ports,
  envFile: join(ROOT, ".dev.vars"),
  policies: [join(ROOT, "policies/demo.yaml")],
  // An upstream identity provider for the dev stack comes from the shell: OIDC_ISSUER, OIDC_CLIENT_ID, …
  extraVars: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith("OIDC_") && Boolean(e[1]))),
  progress: (line) => console.log(`  ✓ ${line}`),
  ...(verbose ? { log: (line: string) => console.log(`    ${line}`) } : {}),
}).catch((e: unknown) => {
  console.error(`\nGatehouse dev stack failed to start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

console.log(`
Gatehouse is running (started in ${((performance.now() - started) / 1000).toFixed(1)} s).

  MCP URL         ${stack.mcpUrl}
  Neon endpoint   ${stack.neonUrl}   (local SQL-over-HTTP, backed by embedded Postgres on 127.0.0.1:${ports.postgres})

  Demo users      alice@example.com  sales ops: revenue_summary, pipeline_coverage
                  dana@example.com   data engineer: revenue_summary, pipeline_coverage, execute_sql, describe_data
                  wes@example.com    account executive: pipeline_coverage, my_opportunities, update_opportunity_stage (approved by maria)
                  maria@example.com  approver: npx gatehouse approvals list --dev
                  admin@example.com  admin (no tools)
                  admin2@example.com second admin: approves what admin@example.com proposes (console "Proposals")
  Demo task       nightly-revenue-report: revenue_summary, 10-minute tokens (client_credentials)
                  client_id     ${stack.secrets.taskClient!.clientId}
                  client_secret ${stack.secrets.taskClient!.clientSecret}

  Get a token     npm run token -- --user alice@example.com
  Then            see README "Try it with curl"

Press Ctrl-C to stop.
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping Gatehouse…");
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
