import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import type { RolePasswords } from "./setup-db";
import { generatePassword, generateSigningJwk } from "./signing-key";

/** Secrets of one local stack, generated on first start and kept (mode 0600) in its state directory. */
export interface LocalSecrets {
  superuserPassword: string;
  rolePasswords: RolePasswords;
  signingKey: string;
  /** The demo task client (client_credentials), created on every start with these values. */
  taskClient?: { clientId: string; clientSecret: string };
  /** Sent by the dev tools to the Worker's /dev/* endpoints (X-Gatehouse-Dev-Secret). */
  devSecret?: string;
  /** AUDIT_ANCHOR_KEY: signs the audit chain's head (docs/audit.md "Anchoring"). */
  anchorKey?: string;
  /** gatehouse_broker's password: DB_URL_DIAGNOSTIC, dynamic in the demo, is the broker's connection string. */
  brokerPassword?: string;
  /** DYNAMIC_ROLE_KEY: derives the per-token logins' passwords (base64url of 32 random bytes). */
  dynamicRoleKey?: string;
}

export async function loadOrCreateSecrets(file: string): Promise<LocalSecrets> {
  if (existsSync(file)) {
    const secrets = JSON.parse(await readFile(file, "utf8")) as LocalSecrets;
    if (secrets.taskClient && secrets.devSecret && secrets.anchorKey && secrets.brokerPassword && secrets.dynamicRoleKey) return secrets;
    secrets.taskClient ??= newTaskClient();
    secrets.devSecret ??= generatePassword();
    secrets.anchorKey ??= generateSigningJwk();
    secrets.brokerPassword ??= generatePassword();
    secrets.dynamicRoleKey ??= generateRoleKey();
    await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    return secrets;
  }
  const secrets: LocalSecrets = {
    superuserPassword: generatePassword(),
    rolePasswords: { reporting: generatePassword(), diagnostic: generatePassword(), writer: generatePassword() },
    signingKey: generateSigningJwk(),
    taskClient: newTaskClient(),
    devSecret: generatePassword(),
    anchorKey: generateSigningJwk(),
    brokerPassword: generatePassword(),
    dynamicRoleKey: generateRoleKey(),
  };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

function generateRoleKey(): string {
  return randomBytes(32).toString("base64url");
}

function newTaskClient(): { clientId: string; clientSecret: string } {
  return { clientId: "ghcl_nightly-revenue-report", clientSecret: `ghs_${generatePassword()}` };
}

/**
 * Serialises Worker variables as a dotenv file (.dev.vars format). Values are single-quoted, which dotenv takes
 * literally (JSON such as a JWK keeps its double quotes); a value with a quote or newline is refused.
 */
export function dotenv(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => {
      if (/['\n\r]/.test(v)) throw new Error(`${k} cannot be written to a dotenv file`);
      return `${k}='${v}'`;
    })
    .join("\n")
    .concat("\n");
}
