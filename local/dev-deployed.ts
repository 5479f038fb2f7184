import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { startOidcProvider, type OidcAccount, type OidcProvider } from "./oidc-provider";
import { startStack, type Stack } from "./stack";
import { loadOrCreateCertificate } from "./tls-cert";
import { ROOT } from "./wrangler";

/**
 * `npm run dev:deployed`: a local rehearsal of the deployment path (README "Rehearse it locally",
 * docs/deployment.md). The Worker is served as a deployment is: `PUBLIC_ORIGIN=https://gatehouse.localhost:<port>`
 * (not loopback to Gatehouse, so no dev login, no /dev/* endpoints, no local Neon endpoint), TLS with a certificate
 * generated on this machine, sign-in through an OpenID Connect provider on 127.0.0.1 with the demo users, a
 * BOOTSTRAP_TOKEN, and an EMPTY D1 (tables only, no policy; recreated on every start) so the first policy has to be
 * bootstrapped. Embedded Postgres and the local Neon endpoint start as in `npm run dev`, but a non-loopback
 * Worker does not use the local endpoint, so tools that reach the database fail here; the path (bootstrap, login,
 * a write request waiting for approval, approving it) needs no database.
 *
 * Ports come from GATEHOUSE_PORT (8443), GATEHOUSE_IDP_PORT (8444), NEON_LOCAL_PORT (4445), PG_PORT (54330), state
 * from GATEHOUSE_STATE_DIR (.data/deployed), so it runs beside `npm run dev`. Ctrl-C stops everything it started.
 */
const HOST = "gatehouse.localhost";
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ports = { worker: port("GATEHOUSE_PORT", 8443), neon: port("NEON_LOCAL_PORT", 4445), postgres: port("PG_PORT", 54330) };
const idpPort = port("GATEHOUSE_IDP_PORT", 8444);
const stateDir = resolve(process.env.GATEHOUSE_STATE_DIR ?? join(ROOT, ".data/deployed"));
const verbose = process.env.GATEHOUSE_VERBOSE === "1";
const origin = `https://${HOST}:${ports.worker}`;

/** The demo users at the identity provider, one password for all (printed; the provider listens on 127.0.0.1 only). */
function demoAccounts(password: string): Record<string, OidcAccount> {
  const account = (email: string, name: string, groups: string[]): [string, OidcAccount] => [email, { email, email_verified: true, name, groups, password }];
  return Object.fromEntries([
    account("admin@example.com", "Admin", ["admins"]),
    account("admin2@example.com", "Second admin", ["admins"]),
    account("maria@example.com", "Maria (approver)", ["approvers"]),
    account("wes@example.com", "Wes (account executive)", ["account-executives"]),
    account("alice@example.com", "Alice (sales ops)", ["sales-ops"]),
    account("dana@example.com", "Dana (data engineer)", ["data-engineering"]),
  ]);
}

/** Whether Node's resolver (getaddrinfo) knows the name; where it does not, the CLI needs the preload. */
async function resolvesToLoopback(host: string): Promise<boolean> {
  try {
    const addresses = await lookup(host, { all: true });
    return addresses.some((a) => a.address === "127.0.0.1" || a.address === "::1");
  } catch {
    return false;
  }
}

const started = performance.now();
const password = randomBytes(6).toString("base64url");
const bootstrapToken = randomBytes(32).toString("hex");
let idp: OidcProvider | undefined;
let stack: Stack | undefined;
try {
  const certificate = await loadOrCreateCertificate(join(stateDir, "tls"), HOST);
  // Every start is a fresh deployment: an empty D1, so `gatehouse policy bootstrap` is the first thing to do.
  await rm(join(stateDir, "wrangler"), { recursive: true, force: true });
  idp = await startOidcProvider({
    port: idpPort,
    redirectUri: `${origin}/authorize/oidc/callback`,
    accounts: demoAccounts(password),
    title: "Local IdP",
    clientId: "gatehouse-local",
    loginEveryTime: true,
  });
  console.log(`  ✓ identity provider on ${idp.issuer}`);
  stack = await startStack({
    stateDir,
    ports,
    envFile: join(stateDir, "worker.env"),
    policies: [],
    deployment: { publicOrigin: origin, certificate },
    extraVars: {
      BOOTSTRAP_TOKEN: bootstrapToken,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      OIDC_LABEL: "Local IdP",
      OIDC_GROUPS_CLAIM: "groups",
    },
    progress: (line) => console.log(`  ✓ ${line}`),
    ...(verbose ? { log: (line: string) => console.log(`    ${line}`) } : {}),
  });
} catch (e) {
  console.error(`\nGatehouse deployment rehearsal failed to start: ${e instanceof Error ? e.message : String(e)}`);
  await stack?.stop();
  await idp?.stop();
  process.exit(1);
}

if (!idp || !stack) process.exit(1);
const preload = (await resolvesToLoopback(HOST)) ? undefined : pathToFileURL(join(ROOT, "local/resolve-localhost.mjs")).href;
const certPath = join(stateDir, "tls/cert.pem");
const envFile = join(stateDir, "env.sh");
const sq = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
await writeFile(
  envFile,
  [
    "# npm run dev:deployed: source this in the shell that runs the gatehouse CLI or the MCP Inspector.",
    `export GATEHOUSE_URL=${sq(origin)}`,
    `export BOOTSTRAP_TOKEN=${sq(bootstrapToken)}`,
    "# Node trusts the rehearsal's self-signed certificate (this one only).",
    `export NODE_EXTRA_CA_CERTS=${sq(certPath)}`,
    ...(preload
      ? [`# Node's resolver does not know ${HOST} here: resolve *.localhost to 127.0.0.1 (or add \`127.0.0.1 ${HOST}\` to /etc/hosts).`, `export NODE_OPTIONS=${sq(`--import ${preload}`)}`]
      : []),
    "",
  ].join("\n"),
  { mode: 0o600 },
);

console.log(`
Gatehouse deployment rehearsal is running (started in ${((performance.now() - started) / 1000).toFixed(1)} s).

  Origin            ${origin}   (not loopback: no dev login, no dev endpoints; empty D1)
  Certificate       ${certPath}   (self-signed: the browser warns once; click through)
  Identity provider ${idp.issuer}   every demo user's password: ${password}
                    admin@example.com  admins: bootstraps, logs in with the CLI
                    wes@example.com    account executive: asks for update_opportunity_stage
                    maria@example.com  approver: approves in ${origin}/console
                    admin2@example.com (second admin: approves held admin operations), alice@example.com, dana@example.com
  BOOTSTRAP_TOKEN   ${bootstrapToken}
  Database          the tools cannot reach it (the local Neon endpoint serves loopback origins only)

Next, in a second terminal (README "Rehearse it locally"):

  source ${envFile}
  npx gatehouse policy bootstrap policies/demo.yaml --url ${origin}
  npx gatehouse login --url ${origin}
  npm exec -- mcp-inspector --cli ${origin}/mcp --method tools/call --tool-name update_opportunity_stage --tool-arg opportunity_id=48 stage=negotiation

Press Ctrl-C to stop.
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping Gatehouse…");
  await stack?.stop();
  await idp?.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
