import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../../local/postgres";
import { dotenv } from "../../local/secrets";
import { startWranglerDev, type WranglerDev } from "../../local/wrangler";
import { startTestOidcProvider, type TestOidcProvider } from "./oidc-provider";
import { loopbackTlsFetch } from "./tls-fetch";

/** The non-loopback name deployment-like tests serve the Worker under (Chromium maps it to 127.0.0.1). */
export const DEPLOYED_HOST = "gatehouse.test";

/** The e2e stack's Worker variables (`K='v'` lines of its env file), to start another Worker with the same secrets. */
export async function stackWorkerVars(stateDir: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const line of (await readFile(join(stateDir, "worker.env"), "utf8")).split("\n")) {
    const m = /^([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

/**
 * A deployment-like Worker: `PUBLIC_ORIGIN=https://gatehouse.test:<port>` (not loopback, so no dev login and no dev
 * endpoints) served by `wrangler dev --local-protocol https` over the D1 in `persistTo`, signing users in through its
 * own test OpenID Connect provider on 127.0.0.1 (another site).
 */
export async function startDeployedWorker(opts: {
  dir: string;
  persistTo: string;
  stackVars: Record<string, string>;
  extraVars?: Record<string, string>;
}): Promise<{ origin: string; worker: WranglerDev; idp: TestOidcProvider }> {
  const port = await freePort();
  const origin = `https://${DEPLOYED_HOST}:${port}`;
  const idp = await startTestOidcProvider({ port: await freePort(), redirectUri: `${origin}/authorize/oidc/callback` });
  try {
    const envFile = join(opts.dir, "deployed.env");
    const vars = {
      ...opts.stackVars,
      PUBLIC_ORIGIN: origin,
      DEV_ENDPOINTS: "false",
      DEV_SECRET: "",
      NEON_LOCAL_ENDPOINT: "",
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      OIDC_LABEL: "Test IdP",
      OIDC_GROUPS_CLAIM: "groups",
      ...opts.extraVars,
    };
    await writeFile(envFile, dotenv(vars), { mode: 0o600 });
    const worker = await startWranglerDev({ port, persistTo: opts.persistTo, envFile, https: true, probe: async () => (await loopbackTlsFetch(`${origin}/`)).status === 200 });
    return { origin, worker, idp };
  } catch (e) {
    await idp.stop();
    throw e;
  }
}
