import type { PolicyDocument, PolicyError } from "./document";
import { isTier, type Tier } from "./tiers";

/**
 * Which database credential each workspace may use, and at which tier, is the deployment's decision, never a
 * policy's: the `DATABASE_CREDENTIALS` Worker variable maps each `DB_URL_*` secret to its tier and the workspaces
 * allowed to use it, e.g. `{"DB_URL_REPORTING": {"tier": "read", "workspaces": ["demo"]}}`. A policy may only name
 * a secret bound to its workspace, at exactly that tier; anything else is refused at apply time and again at call
 * time (a policy stored earlier cannot bypass it). Unset or empty means no credential is usable: fail closed.
 *
 * `"mode": "dynamic"` with `"role": "<tier role>"` makes the credential dynamic (docs/configuration.md
 * "Short-lived database credentials"): the secret then holds the broker's connection string, and each access token
 * connects as its own login role that inherits `role`, with a password derived under the `DYNAMIC_ROLE_KEY` secret.
 * Without a valid key a dynamic binding is unusable, refused like an unbound one.
 */
export interface CredentialBinding {
  tier: Tier;
  workspaces: readonly string[];
  /** Present on a dynamic binding only (`"mode": "dynamic"`); a static binding connects with the secret itself. */
  dynamic?: {
    /** The Postgres tier role each per-token login inherits. */
    role: string;
    /** Why the binding cannot be used (no valid DYNAMIC_ROLE_KEY); undefined when it can. */
    unusable?: string;
  };
}

export type CredentialBindings = ReadonlyMap<string, CredentialBinding>;

export type ParsedCredentials = { ok: true; bindings: CredentialBindings } | { ok: false; message: string };

const SECRET = /^DB_URL_[A-Z0-9_]{1,56}$/;
const WORKSPACE = /^[a-z][a-z0-9_-]{0,62}$/;
/**
 * A tier role: an unquoted Postgres identifier (lower case, at most NAMEDATALEN-1 = 63 bytes), not a reserved `pg_`
 * role and not a per-token login (`gh_…`), which are named by Gatehouse itself.
 */
const ROLE = /^(?!pg_|gh_)[a-z_][a-z0-9_]{0,62}$/;
const KEYS = ["tier", "workspaces", "mode", "role"];
/**
 * DYNAMIC_ROLE_KEY: base64url (RFC 4648 §5), optionally padded, of at least 32 bytes (43 characters unpadded). The
 * unpadded length is never 4n + 1: no byte string encodes to it, and decoding it throws (tools/dynamic-login.ts).
 */
const DYNAMIC_KEY = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?={0,2}$/;

/** Why `key` (the DYNAMIC_ROLE_KEY secret) cannot derive login passwords, or undefined when it can. */
export function dynamicKeyProblem(key: unknown): string | undefined {
  if (typeof key !== "string" || key === "") return "the Worker secret DYNAMIC_ROLE_KEY is not set";
  if (!DYNAMIC_KEY.test(key) || key.replace(/=+$/, "").length < 43) return "the Worker secret DYNAMIC_ROLE_KEY is not base64url of at least 32 random bytes";
  return undefined;
}
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parses the variable (a JSON string, or an object when set as a JSON var); every problem names its key.
 * `dynamicKey` is the DYNAMIC_ROLE_KEY secret: without a valid one, dynamic bindings parse but are unusable.
 */
export function parseDatabaseCredentials(raw: unknown, dynamicKey?: unknown): ParsedCredentials {
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
    const extra = Object.keys(b).find((k) => !KEYS.includes(k));
    if (extra !== undefined) return { ok: false, message: `${at}.${extra}: unknown key; allowed: ${KEYS.join(", ")}` };
    if (!isTier(b.tier)) return { ok: false, message: `${at}.tier must be read, sql or write` };
    const ws = b.workspaces;
    if (!Array.isArray(ws) || !ws.every((w): w is string => typeof w === "string" && WORKSPACE.test(w))) {
      return { ok: false, message: `${at}.workspaces must be a list of workspace names` };
    }
    const mode = b.mode ?? "static";
    if (mode !== "static" && mode !== "dynamic") return { ok: false, message: `${at}.mode must be "static" or "dynamic"` };
    if (mode === "static") {
      if (b.role !== undefined) return { ok: false, message: `${at}.role applies only to "mode": "dynamic" (the tier role its per-token logins inherit)` };
      bindings.set(secret, { tier: b.tier, workspaces: [...ws] });
      continue;
    }
    if (b.role === undefined) return { ok: false, message: `${at}.role is required with "mode": "dynamic": the Postgres tier role each per-token login inherits` };
    if (typeof b.role !== "string" || !ROLE.test(b.role)) {
      return { ok: false, message: `${at}.role must be a lower-case Postgres role name (letters, digits, _; at most 63; not pg_… or gh_…)` };
    }
    const keyProblem = dynamicKeyProblem(dynamicKey);
    bindings.set(secret, {
      tier: b.tier,
      workspaces: [...ws],
      dynamic: { role: b.role, ...(keyProblem ? { unusable: `${secret} is a dynamic credential, but ${keyProblem}; it is unusable until it is` } : {}) },
    });
  }
  return { ok: true, bindings };
}

const cache = new Map<string, ParsedCredentials>();

/** Per-isolate memo of the parse: neither the variable nor the key changes within an isolate. */
export function credentialsFrom(env: { DATABASE_CREDENTIALS?: unknown; DYNAMIC_ROLE_KEY?: unknown }): ParsedCredentials {
  const raw = env.DATABASE_CREDENTIALS;
  // The memo key records only whether the secret is usable, never the secret.
  const key = `${dynamicKeyProblem(env.DYNAMIC_ROLE_KEY) ?? "key ok"}\0${typeof raw === "string" ? raw : JSON.stringify(raw ?? "")}`;
  let parsed = cache.get(key);
  if (!parsed) {
    parsed = parseDatabaseCredentials(raw, env.DYNAMIC_ROLE_KEY);
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
  if (b.dynamic?.unusable) return { field: "secret", message: b.dynamic.unusable };
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
