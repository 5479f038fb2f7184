import type { PolicyDocument, PolicyError } from "./document";
import { isTier, type Tier } from "./tiers";

/**
 * Which database credential each workspace may use, and at which tier, is the deployment's decision, never a
 * policy's: the `DATABASE_CREDENTIALS` Worker variable maps each `DB_URL_*` secret to its tier and the workspaces
 * allowed to use it, e.g. `{"DB_URL_REPORTING": {"tier": "read", "workspaces": ["demo"]}}`. A policy may only name
 * a secret bound to its workspace, at exactly that tier; anything else is refused at apply time and again at call
 * time (a policy stored earlier cannot bypass it). Unset or empty means no credential is usable: fail closed.
 */
export interface CredentialBinding {
  tier: Tier;
  workspaces: readonly string[];
}

export type CredentialBindings = ReadonlyMap<string, CredentialBinding>;

export type ParsedCredentials = { ok: true; bindings: CredentialBindings } | { ok: false; message: string };

const SECRET = /^DB_URL_[A-Z0-9_]{1,56}$/;
const WORKSPACE = /^[a-z][a-z0-9_-]{0,62}$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses the variable (a JSON string, or an object when set as a JSON var); every problem names its key. */
export function parseDatabaseCredentials(raw: unknown): ParsedCredentials {
  if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) return { ok: true, bindings: new Map() };
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, message: "DATABASE_CREDENTIALS is not valid JSON" };
    }
  }
  if (!isObj(value)) return { ok: false, message: 'DATABASE_CREDENTIALS must be a JSON object {"DB_URL_<NAME>": {"tier": …, "workspaces": […]}}' };
  const bindings = new Map<string, CredentialBinding>();
  for (const [secret, b] of Object.entries(value)) {
    const at = `DATABASE_CREDENTIALS.${secret}`;
    if (!SECRET.test(secret)) return { ok: false, message: `${at}: keys must name a Worker secret DB_URL_<NAME> (upper case)` };
    if (!isObj(b)) return { ok: false, message: `${at} must be an object with "tier" and "workspaces"` };
    const extra = Object.keys(b).find((k) => k !== "tier" && k !== "workspaces");
    if (extra !== undefined) return { ok: false, message: `${at}.${extra}: unknown key; allowed: tier, workspaces` };
    if (!isTier(b.tier)) return { ok: false, message: `${at}.tier must be read, sql or write` };
    const ws = b.workspaces;
    if (!Array.isArray(ws) || !ws.every((w): w is string => typeof w === "string" && WORKSPACE.test(w))) {
      return { ok: false, message: `${at}.workspaces must be a list of workspace names` };
    }
    bindings.set(secret, { tier: b.tier, workspaces: [...ws] });
  }
  return { ok: true, bindings };
}

const cache = new Map<string, ParsedCredentials>();

/** Per-isolate memo of the parse: a variable does not change within an isolate. */
export function credentialsFrom(env: { DATABASE_CREDENTIALS?: unknown }): ParsedCredentials {
  const raw = env.DATABASE_CREDENTIALS;
  const key = typeof raw === "string" ? raw : JSON.stringify(raw ?? "");
  let parsed = cache.get(key);
  if (!parsed) {
    parsed = parseDatabaseCredentials(raw);
    cache.set(key, parsed);
  }
  return parsed;
}

/**
 * Why `workspace` may not use `secret` at `tier` (`field`: which role key is wrong), or undefined when the
 * deployment allows it. Another workspace's bindings are never described.
 */
export function credentialProblem(bindings: CredentialBindings, workspace: string, secret: string, tier: Tier): { field: "secret" | "tier"; message: string } | undefined {
  const b = bindings.get(secret);
  if (!b?.workspaces.includes(workspace)) return { field: "secret", message: `${secret} is not bound to workspace "${workspace}" in DATABASE_CREDENTIALS` };
  if (b.tier !== tier) return { field: "tier", message: `${secret} is bound as the ${b.tier} tier, not ${tier}` };
  return undefined;
}

/**
 * The deployment half of policy validation: every database role names a secret bound to the policy's workspace,
 * at the role's tier. Separate from validatePolicy, which checks a document alone (the CLI runs it offline); the
 * Worker runs both before storing a policy.
 */
export function checkCredentialBindings(policy: PolicyDocument, parsed: ParsedCredentials): PolicyError[] {
  if (!parsed.ok) return [{ path: "$.database_roles", message: `the deployment's ${parsed.message}; no database credential is usable until it is fixed` }];
  const errors: PolicyError[] = [];
  for (const [name, role] of Object.entries(policy.database_roles)) {
    const problem = credentialProblem(parsed.bindings, policy.workspace, role.secret, role.tier);
    if (problem) errors.push({ path: `$.database_roles.${name}.${problem.field}`, message: `${problem.message}; the deployment decides which credential a workspace may use` });
  }
  return errors;
}
