import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort } from "../../local/postgres";
import { startStack, type Stack } from "../../local/stack";
import { ROOT } from "../../local/wrangler";

declare module "vitest" {
  interface ProvidedContext {
    e2e: {
      workerUrl: string;
      mcpUrl: string;
      neonUrl: string;
      roleUrls: { reporting: string; diagnostic: string; writer: string };
      pg: { port: number; superuserUrl: string; rolePasswords: { reporting: string; diagnostic: string; writer: string } };
      stateDir: string;
      signingKey: string;
      taskClient: { clientId: string; clientSecret: string };
      devSecret: string;
    };
  }
}

let stack: Stack | undefined;
let stateDir: string | undefined;

/** One stack for the whole e2e suite, on free loopback ports, in a temporary directory removed afterwards. */
export async function setup(project: TestProject): Promise<void> {
  stateDir = await mkdtemp(join(tmpdir(), "gatehouse-e2e-"));
  const ports = { worker: await freePort(), neon: await freePort(), postgres: await freePort() };
  stack = await startStack({
    stateDir,
    ports,
    envFile: join(stateDir, "worker.env"),
    policies: [join(ROOT, "policies/demo.yaml"), join(ROOT, "test/e2e/policy.yaml")],
    ...(process.env.GATEHOUSE_VERBOSE === "1" ? { log: (l: string) => console.log(l), progress: (l: string) => console.log(l) } : {}),
  });
  project.provide("e2e", {
    workerUrl: stack.workerUrl,
    mcpUrl: stack.mcpUrl,
    neonUrl: stack.neonUrl,
    roleUrls: stack.roleUrls,
    pg: { port: stack.postgres.port, superuserUrl: stack.postgres.superuserUrl, rolePasswords: stack.secrets.rolePasswords },
    stateDir,
    signingKey: stack.secrets.signingKey,
    taskClient: stack.secrets.taskClient!,
    devSecret: stack.secrets.devSecret!,
  });
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
}
