import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort } from "../../local/postgres";
import { DATABASE, startStack, type Stack } from "../../local/stack";
import { loadOrCreateSecrets } from "../../local/secrets";
import { roleConnectionString } from "../../local/setup-db";
import { ROOT } from "../../local/wrangler";
import { startWebhookReceiver } from "../support/webhook-receiver";
import { startOtlpReceiver } from "../support/otlp-receiver";
import { startTestOidcProvider, type TestOidcProvider } from "../support/oidc-provider";

declare module "vitest" {
  interface ProvidedContext {
    e2e: {
      workerUrl: string;
      mcpUrl: string;
      neonUrl: string;
      roleUrls: { reporting: string; diagnostic: string; writer: string };
      pg: { port: number; superuserUrl: string; rolePasswords: { reporting: string; diagnostic: string; writer: string } };
      /** DYNAMIC_ROLE_KEY, to derive a token's database login and connect as it directly (dynamic credentials). */
      dynamicRoleKey: string;
      stateDir: string;
      signingKey: string;
      taskClient: { clientId: string; clientSecret: string };
      devSecret: string;
      /** Records approval webhooks; GET <webhookUrl>/received lists the bodies. */
      webhookUrl: string;
      /** The OTLP/HTTP receiver the Worker exports audit telemetry to; GET <otlpUrl>/received lists the requests. */
      otlpUrl: string;
      /** The upstream OpenID Connect provider the Worker is configured with (test/support/oidc-provider.ts). */
      oidc: { issuer: string; clientId: string; clientSecret: string };
    };
  }
}

let stack: Stack | undefined;
let stateDir: string | undefined;
let idp: TestOidcProvider | undefined;
let webhook: { url: string; stop(): Promise<void> } | undefined;
let otlp: { url: string; stop(): Promise<void> } | undefined;

/** One stack for the whole e2e suite, on free loopback ports, in a temporary directory removed afterwards. */
export async function setup(project: TestProject): Promise<void> {
  stateDir = await mkdtemp(join(tmpdir(), "gatehouse-e2e-"));
  const ports = { worker: await freePort(), neon: await freePort(), postgres: await freePort() };
  // Both ports are chosen first: the provider needs the Worker's callback URL, the Worker the provider's issuer.
  idp = await startTestOidcProvider({ port: await freePort(), redirectUri: `http://127.0.0.1:${ports.worker}/authorize/oidc/callback` });
  webhook = await startWebhookReceiver(await freePort());
  otlp = await startOtlpReceiver(await freePort());
  // The stack reads the same file: the static sql credential below is the tier role's own login.
  const secrets = await loadOrCreateSecrets(join(stateDir, "secrets.json"));
  try {
    stack = await startStack({
      stateDir,
      ports,
      envFile: join(stateDir, "worker.env"),
      policies: [join(ROOT, "policies/demo.yaml"), join(ROOT, "test/e2e/policy.yaml")],
      // The deployment's credential bindings (src/policy/credentials.ts) for both workspaces the suite applies;
      // DB_URL_NOT_SET is bound but has no secret, so the e2e policy's `orphan` tool meets a missing credential.
      extraVars: {
        DATABASE_CREDENTIALS: JSON.stringify({
          DB_URL_REPORTING: { tier: "read", workspaces: ["demo", "e2e"] },
          DB_URL_NOT_SET: { tier: "read", workspaces: ["e2e"] },
          DB_URL_DIAGNOSTIC: { tier: "sql", workspaces: ["demo", "e2e"], mode: "dynamic", role: "gatehouse_diagnostic" },
          DB_URL_STATIC_SQL: { tier: "sql", workspaces: ["e2e"] },
          DB_URL_WRITER: { tier: "write", workspaces: ["demo", "e2e"] },
        }),
        DB_URL_STATIC_SQL: roleConnectionString("diagnostic", secrets.rolePasswords.diagnostic, DATABASE),
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: idp.clientId,
        OIDC_CLIENT_SECRET: idp.clientSecret,
        OIDC_LABEL: "Test IdP",
        OIDC_GROUPS_CLAIM: "groups",
        APPROVAL_WEBHOOK_URL: `${webhook.url}/approvals`,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_HEADERS: "x-otlp-token=e2e%20secret",
      },
      ...(process.env.GATEHOUSE_VERBOSE === "1" ? { log: (l: string) => console.log(l), progress: (l: string) => console.log(l) } : {}),
    });
  } catch (e) {
    await idp.stop();
    await webhook?.stop();
    await otlp?.stop();
    throw e;
  }
  project.provide("e2e", {
    workerUrl: stack.workerUrl,
    mcpUrl: stack.mcpUrl,
    neonUrl: stack.neonUrl,
    roleUrls: stack.roleUrls,
    pg: { port: stack.postgres.port, superuserUrl: stack.postgres.superuserUrl, rolePasswords: stack.secrets.rolePasswords },
    dynamicRoleKey: stack.secrets.dynamicRoleKey!,
    stateDir,
    signingKey: stack.secrets.signingKey,
    taskClient: stack.secrets.taskClient!,
    devSecret: stack.secrets.devSecret!,
    oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
    webhookUrl: webhook.url,
    otlpUrl: otlp.url,
  });
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  await idp?.stop();
  await webhook?.stop();
  await otlp?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
}
