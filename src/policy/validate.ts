import type { GrantDocument, PolicyDocument, PolicyError, ToolDocument } from "./document";
import { RATE_LIMITS, isPerMinute, nearestPerMinute } from "./rate-limits";

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const TOOL_NAME = /^[a-z][a-z0-9_]{0,62}$/;
/** Role secrets are DB_URL_*: a policy can never point a tool at another binding such as SIGNING_KEY. */
const SECRET = /^DB_URL_[A-Z0-9_]{1,56}$/;
const RELATION = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const IDENTITY = ["email", "sub", "workspace"] as const;
const KINDS = ["read", "sql", "write"] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Levenshtein distance, for "did you mean" suggestions on typos. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length < 3) return undefined;
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/** A real calendar date, or a date-time with Z or an offset (Date.parse alone accepts far more, and rolls 02-30 over). */
function isIsoInstant(v: unknown): boolean {
  if (typeof v !== "string") return false;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/.exec(v);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && !Number.isNaN(Date.parse(v));
}

const JSON_TYPES = new Set(["string", "integer", "number", "boolean", "array", "object", "null"]);

const hint = (word: string, candidates: readonly string[]): string => {
  const near = closest(word, candidates);
  return near ? `; did you mean "${near}"?` : "";
};

class Checker {
  readonly errors: PolicyError[] = [];
  fail(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  /** Records an error; `false` for a type guard that did not hold. */
  refuse(path: string, message: string): false {
    this.fail(path, message);
    return false;
  }
  /** Records an error and carries on with `fallback`. */
  failWith<T>(path: string, message: string, fallback: T): T {
    this.fail(path, message);
    return fallback;
  }
  obj(v: unknown, path: string, allowed: readonly string[], required: readonly string[] = []): Obj | undefined {
    if (!isObj(v)) {
      this.fail(path, "must be a mapping");
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (allowed.includes(k)) continue;
      const near = closest(k, allowed);
      this.fail(`${path}.${k}`, near ? `unknown key; did you mean "${near}"?` : `unknown key; allowed here: ${allowed.join(", ")}`);
    }
    for (const k of required) if (v[k] === undefined) this.fail(`${path}.${k}`, "is required");
    return v;
  }
  str(v: unknown, path: string, pattern?: RegExp, hint?: string): v is string {
    if (typeof v !== "string" || v.length === 0) return this.refuse(path, "must be a non-empty string");
    if (pattern && !pattern.test(v)) return this.refuse(path, hint ?? `must match ${pattern}`);
    return true;
  }
  int(v: unknown, path: string, min: number, max: number): void {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) this.fail(path, `must be an integer from ${min} to ${max}`);
  }
  strList(v: unknown, path: string): string[] {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
      this.fail(path, "must be a list of strings");
      return [];
    }
    return v as string[];
  }
}

/** Validates an untrusted policy document. Unknown keys, unknown references and missing limits are errors. */
export function validatePolicy(input: unknown): { ok: true; policy: PolicyDocument } | { ok: false; errors: PolicyError[] } {
  const c = new Checker();
  const doc = c.obj(input, "$", ["version", "workspace", "database_roles", "users", "tasks", "groups", "tools", "grants"], ["version", "workspace", "database_roles", "tools", "grants"]);
  if (!doc) return { ok: false, errors: c.errors };
  if (doc.version !== 1) c.fail("$.version", "must be 1");
  c.str(doc.workspace, "$.workspace", NAME, "must be lowercase letters, digits, '-' or '_'");

  const roles = c.obj(doc.database_roles, "$.database_roles", Object.keys(isObj(doc.database_roles) ? doc.database_roles : {})) ?? {};
  for (const [name, r] of Object.entries(roles)) {
    const p = `$.database_roles.${name}`;
    c.str(name, p, NAME, "role names are lowercase letters, digits, '-' or '_'");
    const role = c.obj(r, p, ["tier", "secret", "description"], ["tier", "secret"]);
    if (!role) continue;
    if (!KINDS.includes(role.tier as never)) c.fail(`${p}.tier`, "must be read, sql or write");
    c.str(role.secret, `${p}.secret`, SECRET, "must name a Worker secret DB_URL_<NAME> (upper case)");
  }

  const groups = doc.groups === undefined ? {} : (c.obj(doc.groups, "$.groups", Object.keys(isObj(doc.groups) ? doc.groups : {})) ?? {});
  for (const [name, g] of Object.entries(groups)) {
    c.str(name, `$.groups.${name}`, NAME);
    c.obj(g ?? {}, `$.groups.${name}`, ["description"]);
  }
  const groupExists = (g: string) => Object.hasOwn(groups, g);

  const users = doc.users === undefined ? [] : Array.isArray(doc.users) ? doc.users : c.failWith("$.users", "must be a list", []);
  const emails = new Set<string>();
  users.forEach((u, i) => {
    const p = `$.users[${i}]`;
    const user = c.obj(u, p, ["email", "name", "groups"], ["email"]);
    if (!user) return;
    if (c.str(user.email, `${p}.email`, EMAIL, "must be an email address")) {
      if (user.email !== user.email.toLowerCase()) c.fail(`${p}.email`, "must be lowercase");
      if (emails.has(user.email)) c.fail(`${p}.email`, "is listed twice");
      emails.add(user.email);
    }
    if (user.name !== undefined) c.str(user.name, `${p}.name`);
    if (user.groups !== undefined) for (const g of c.strList(user.groups, `${p}.groups`)) if (!groupExists(g)) c.fail(`${p}.groups`, `unknown group "${g}"`);
  });

  const tasks = doc.tasks === undefined ? [] : Array.isArray(doc.tasks) ? doc.tasks : c.failWith("$.tasks", "must be a list", []);
  const taskIds = new Set<string>();
  tasks.forEach((t, i) => {
    const p = `$.tasks[${i}]`;
    const task = c.obj(t, p, ["id", "name", "groups"], ["id"]);
    if (!task) return;
    if (c.str(task.id, `${p}.id`, NAME)) {
      if (taskIds.has(task.id)) c.fail(`${p}.id`, "is listed twice");
      taskIds.add(task.id);
    }
    if (task.groups !== undefined) for (const g of c.strList(task.groups, `${p}.groups`)) if (!groupExists(g)) c.fail(`${p}.groups`, `unknown group "${g}"`);
  });

  const tools = c.obj(doc.tools, "$.tools", Object.keys(isObj(doc.tools) ? doc.tools : {})) ?? {};
  for (const [name, t] of Object.entries(tools)) validateTool(c, name, t, roles, groupExists);

  // Each sql tool brings a describe companion (compile.ts): describe_data for the first, describe_<name> after.
  const sqlTools = Object.entries(tools)
    .filter(([, t]) => isObj(t) && t.kind === "sql")
    .map(([n]) => n);
  sqlTools.forEach((n, i) => {
    const companion = i === 0 && !Object.hasOwn(tools, "describe_data") ? "describe_data" : `describe_${n}`;
    if (i > 0 || Object.hasOwn(tools, "describe_data"))
      if (Object.hasOwn(tools, companion) || companion.length > 63) c.fail(`$.tools.${n}`, `its describe companion would be named "${companion}", which is taken or too long; rename the tool`);
  });

  const grants = Array.isArray(doc.grants) ? doc.grants : c.failWith("$.grants", "must be a list", []);
  grants.forEach((g, i) => {
    const p = `$.grants[${i}]`;
    const grant = c.obj(g, p, ["tools", "users", "tasks", "groups", "expires"], ["tools"]);
    if (!grant) return;
    for (const t of c.strList(grant.tools, `${p}.tools`)) if (!Object.hasOwn(tools, t)) c.fail(`${p}.tools`, `unknown tool "${t}"${hint(t, Object.keys(tools))}`);
    const users = grant.users === undefined ? [] : c.strList(grant.users, `${p}.users`);
    const tasksOf = grant.tasks === undefined ? [] : c.strList(grant.tasks, `${p}.tasks`);
    const groupsOf = grant.groups === undefined ? [] : c.strList(grant.groups, `${p}.groups`);
    for (const u of users) if (!emails.has(u)) c.fail(`${p}.users`, `unknown user "${u}"${hint(u, [...emails])}`);
    for (const t of tasksOf) if (!taskIds.has(t)) c.fail(`${p}.tasks`, `unknown task "${t}"`);
    for (const gr of groupsOf) if (!groupExists(gr)) c.fail(`${p}.groups`, `unknown group "${gr}"${hint(gr, Object.keys(groups))}`);
    if (users.length + tasksOf.length + groupsOf.length === 0) c.fail(p, "grants to nobody: name users, tasks or groups");
    if (grant.expires !== undefined && !isIsoInstant(grant.expires)) c.fail(`${p}.expires`, "must be an ISO 8601 date (YYYY-MM-DD, read as UTC) or a date-time with Z or an offset");
  });

  return c.errors.length === 0 ? { ok: true, policy: doc as unknown as PolicyDocument } : { ok: false, errors: c.errors };
}

function validateTool(c: Checker, name: string, t: unknown, roles: Obj, groupExists: (g: string) => boolean): void {
  const p = `$.tools.${name}`;
  c.str(name, p, TOOL_NAME, "tool names are lowercase letters, digits and '_'");
  const isSql = isObj(t) && t.kind === "sql";
  // A guarded-SQL tool takes its statement from the caller and names the relations it may read instead.
  const tool = c.obj(
    t,
    p,
    [
      "kind",
      "title",
      "description",
      "database_role",
      isSql ? "relations" : "sql",
      "parameters",
      "required",
      "identity",
      "bind",
      "safe_params",
      "limits",
      "requires_approval",
      "approver_group",
      "annotations",
    ],
    ["kind", "title", "description", "database_role", isSql ? "relations" : "sql", "limits"],
  );
  if (!tool) return;
  if (!KINDS.includes(tool.kind as never)) c.fail(`${p}.kind`, "must be read, sql or write");
  c.str(tool.title, `${p}.title`);
  c.str(tool.description, `${p}.description`);
  if (isSql) {
    const relations = c.strList(tool.relations, `${p}.relations`);
    if (relations.length === 0) c.fail(`${p}.relations`, "must list at least one schema-qualified relation");
    for (const r of relations) if (!RELATION.test(r)) c.fail(`${p}.relations`, `"${r}" must be schema-qualified, lowercase (e.g. reporting.revenue_summary)`);
    for (const r of relations) if (/^(pg_catalog|information_schema)\./.test(r)) c.fail(`${p}.relations`, `"${r}": catalog relations cannot be allowed`);
    if (tool.parameters !== undefined) c.fail(`${p}.parameters`, "a guarded-SQL tool's only parameter is the SQL text");
  } else if (c.str(tool.sql, `${p}.sql`) && tool.kind === "write" && !/\breturning\b/i.test(tool.sql)) {
    // The gateway counts changed rows through RETURNING to enforce max_affected_rows (src/tools/statement.ts).
    c.fail(`${p}.sql`, "a write tool's statement must end with RETURNING (e.g. RETURNING id)");
  }
  if (c.str(tool.database_role, `${p}.database_role`)) {
    const role = roles[tool.database_role];
    if (!isObj(role)) c.fail(`${p}.database_role`, `unknown database role "${tool.database_role}"${hint(tool.database_role, Object.keys(roles))}`);
    else if (role.tier !== tool.kind) c.fail(`${p}.database_role`, `a ${String(tool.kind)} tool must run on a ${String(tool.kind)}-tier role, not "${tool.database_role}" (${String(role.tier)})`);
  }
  const params = tool.parameters === undefined ? {} : (c.obj(tool.parameters, `${p}.parameters`, Object.keys(isObj(tool.parameters) ? tool.parameters : {})) ?? {});
  for (const [pn, schema] of Object.entries(params)) {
    c.str(pn, `${p}.parameters.${pn}`, TOOL_NAME);
    const type = isObj(schema) ? schema.type : undefined;
    if (typeof type !== "string" || !JSON_TYPES.has(type)) {
      c.fail(`${p}.parameters.${pn}`, `must be a JSON Schema whose type is one of ${[...JSON_TYPES].join(", ")}`);
    }
  }
  const identity = tool.identity === undefined ? {} : (c.obj(tool.identity, `${p}.identity`, Object.keys(isObj(tool.identity) ? tool.identity : {})) ?? {});
  for (const [pn, claim] of Object.entries(identity)) {
    if (!IDENTITY.includes(claim as never)) c.fail(`${p}.identity.${pn}`, `must be one of ${IDENTITY.join(", ")}`);
    if (Object.hasOwn(params, pn)) c.fail(`${p}.identity.${pn}`, "an identity-bound parameter cannot also be a model parameter");
  }
  const known = (n: string) => Object.hasOwn(params, n) || Object.hasOwn(identity, n);
  if (tool.required !== undefined) for (const r of c.strList(tool.required, `${p}.required`)) if (!Object.hasOwn(params, r)) c.fail(`${p}.required`, `unknown parameter "${r}"`);
  const bind = tool.bind === undefined ? [] : c.strList(tool.bind, `${p}.bind`);
  for (const b of bind) if (!known(b)) c.fail(`${p}.bind`, `unknown parameter "${b}"`);
  for (const n of [...Object.keys(params), ...Object.keys(identity)]) if (!bind.includes(n)) c.fail(`${p}.bind`, `parameter "${n}" is never bound to the SQL`);
  if (tool.kind === "sql" && bind.length > 0) c.fail(`${p}.bind`, "execute_sql tools take their SQL from the caller and bind nothing");
  if (tool.safe_params !== undefined) for (const s of c.strList(tool.safe_params, `${p}.safe_params`)) if (!known(s)) c.fail(`${p}.safe_params`, `unknown parameter "${s}"`);
  const limits = c.obj(
    tool.limits,
    `${p}.limits`,
    ["max_rows", "max_bytes", "timeout_ms", "rate_per_minute", "max_affected_rows"],
    tool.kind === "write" ? ["max_rows", "timeout_ms", "rate_per_minute", "max_affected_rows"] : ["max_rows", "timeout_ms", "rate_per_minute"],
  );
  if (limits) {
    c.int(limits.max_rows, `${p}.limits.max_rows`, 1, 10_000);
    if (limits.max_bytes !== undefined) c.int(limits.max_bytes, `${p}.limits.max_bytes`, 1024, 4 * 1024 * 1024);
    c.int(limits.timeout_ms, `${p}.limits.timeout_ms`, 10, 60_000);
    if (!isPerMinute(limits.rate_per_minute)) {
      const hint = typeof limits.rate_per_minute === "number" ? `; nearest: ${nearestPerMinute(limits.rate_per_minute)}` : "";
      c.fail(`${p}.limits.rate_per_minute`, `must be one of ${RATE_LIMITS.join(", ")} (one rate-limit binding each)${hint}`);
    }
    if (limits.max_affected_rows !== undefined) c.int(limits.max_affected_rows, `${p}.limits.max_affected_rows`, 1, 100_000);
  }
  if (tool.requires_approval !== undefined && typeof tool.requires_approval !== "boolean") c.fail(`${p}.requires_approval`, "must be true or false");
  if (tool.requires_approval === true && tool.kind !== "write") c.fail(`${p}.requires_approval`, "only write tools take approvals");
  if (tool.approver_group !== undefined && (typeof tool.approver_group !== "string" || !groupExists(tool.approver_group)))
    c.fail(`${p}.approver_group`, `unknown group "${String(tool.approver_group)}"`);
  if (tool.requires_approval === true && tool.approver_group === undefined) c.fail(`${p}.approver_group`, "is required when requires_approval is true");
  if (tool.annotations !== undefined) {
    const a = c.obj(tool.annotations, `${p}.annotations`, ["idempotentHint", "openWorldHint"]);
    if (a) for (const [k, v] of Object.entries(a)) if (typeof v !== "boolean") c.fail(`${p}.annotations.${k}`, "must be true or false");
  }
}

export type { GrantDocument, ToolDocument };
