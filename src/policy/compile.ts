import type { PolicyDocument, ToolDocument } from "./document";
import type { Grant, JsonObjectSchema, ToolDefinition } from "./types";
import { canonicalJson } from "../lib/canonical-json";
import { sha256Hex } from "../lib/sha256";

/** Default byte cap on a tool result (docs/security.md). */
export const DEFAULT_MAX_BYTES = 256 * 1024;

export interface CompiledPrincipal {
  id: string;
  kind: "user" | "task";
  email?: string;
  name?: string;
}

export interface CompiledPolicy {
  workspace: string;
  hash: string;
  tools: ToolDefinition[];
  grants: Grant[];
  principals: CompiledPrincipal[];
  members: Array<{ principal: string; group: string }>;
}

/** Principal ids as they appear in a token's `sub`. */
export const userPrincipalId = (email: string): string => `user:${email}`;
export const taskPrincipalId = (id: string): string => `task:${id}`;

/** The guarded-SQL tool's only argument. */
const SQL_INPUT: JsonObjectSchema = {
  type: "object",
  properties: { sql: { type: "string", minLength: 1, maxLength: 20000, description: "One read-only SELECT statement over the relations describe_data lists." } },
  required: ["sql"],
  additionalProperties: false,
};

function inputSchema(t: ToolDocument): JsonObjectSchema {
  if (t.kind === "sql") return SQL_INPUT;
  const schema: JsonObjectSchema = { type: "object", properties: { ...(t.parameters ?? {}) }, additionalProperties: false };
  if (t.required && t.required.length > 0) schema.required = [...t.required];
  return schema;
}

async function compileTool(name: string, t: ToolDocument, policy: PolicyDocument): Promise<ToolDefinition> {
  const role = policy.database_roles[t.database_role];
  if (!role) throw new Error(`unknown database role ${t.database_role}`);
  const write = t.kind === "write";
  const def: Omit<ToolDefinition, "version"> = {
    name,
    title: t.title,
    description: t.description.trim(),
    kind: t.kind,
    dbRole: t.database_role,
    tier: role.tier,
    secret: role.secret,
    sql: (t.sql ?? "").trim(),
    ...(t.relations ? { relations: [...t.relations].sort() } : {}),
    inputSchema: inputSchema(t),
    bind: t.bind ?? [],
    identity: t.identity ?? {},
    safeParams: t.safe_params ?? [],
    limits: {
      maxRows: t.limits.max_rows,
      maxBytes: t.limits.max_bytes ?? DEFAULT_MAX_BYTES,
      timeoutMs: t.limits.timeout_ms,
      ratePerMinute: t.limits.rate_per_minute,
      ...(t.limits.max_affected_rows !== undefined ? { maxAffectedRows: t.limits.max_affected_rows } : {}),
    },
    // Hints follow the credential the tool actually runs on (MCP 2025-06-18 ToolAnnotations): only tools on a
    // read-only tier are read-only, and every write is treated as destructive.
    annotations: {
      readOnlyHint: !write,
      destructiveHint: write,
      idempotentHint: t.annotations?.idempotentHint ?? !write,
      openWorldHint: t.annotations?.openWorldHint ?? false,
    },
    requiresApproval: t.requires_approval ?? false,
    ...(t.approver_group !== undefined ? { approverGroup: t.approver_group } : {}),
  };
  return { ...def, version: (await sha256Hex(canonicalJson(def))).slice(0, 16) };
}

/**
 * The columns a guarded-SQL tool's caller may query, read through information_schema as that tool's own role (so
 * it shows only what the role can see) and restricted to the tool's relations: an agent can write correct SQL
 * without catalog access, which the guard refuses.
 */
const DESCRIBE_SQL = `SELECT c.table_schema || '.' || c.table_name AS relation, c.column_name AS "column", c.data_type AS type, c.is_nullable = 'YES' AS nullable
FROM information_schema.columns c
WHERE c.table_schema || '.' || c.table_name = ANY ($1::text[])
ORDER BY c.table_schema, c.table_name, c.ordinal_position`;

async function describeTool(sqlTool: ToolDefinition, name: string): Promise<ToolDefinition> {
  const def: Omit<ToolDefinition, "version"> = {
    name,
    title: `Describe data for ${sqlTool.name}`,
    description: `Lists the relations and columns (with types) that ${sqlTool.name} may query. Call it before writing SQL.`,
    kind: "read",
    dbRole: sqlTool.dbRole,
    tier: sqlTool.tier,
    secret: sqlTool.secret,
    sql: DESCRIBE_SQL,
    inputSchema: { type: "object", properties: {}, additionalProperties: false },
    bind: ["relations"],
    identity: {},
    constants: { relations: sqlTool.relations ?? [] },
    safeParams: [],
    limits: { maxRows: 2000, maxBytes: DEFAULT_MAX_BYTES, timeoutMs: 5000, ratePerMinute: sqlTool.limits.ratePerMinute },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    requiresApproval: false,
  };
  return { ...def, version: (await sha256Hex(canonicalJson(def))).slice(0, 16) };
}

/** Compiles a validated policy into the rows stored in D1. Pure apart from hashing. */
export async function compilePolicy(policy: PolicyDocument): Promise<CompiledPolicy> {
  const declared = await Promise.all(Object.entries(policy.tools).map(([name, t]) => compileTool(name, t, policy)));
  // Each guarded-SQL tool brings its describe_data companion, granted to whoever is granted the tool.
  const companions = new Map<string, string>();
  const tools = [...declared];
  for (const t of declared.filter((d) => d.kind === "sql")) {
    const name = companions.size === 0 && !policy.tools.describe_data ? "describe_data" : `describe_${t.name}`;
    if (Object.hasOwn(policy.tools, name) || tools.some((x) => x.name === name)) throw new Error(`tool name ${name} is taken; it is the describe companion of ${t.name}`);
    companions.set(t.name, name);
    tools.push(await describeTool(t, name));
  }
  const principals: CompiledPrincipal[] = [];
  const members: CompiledPolicy["members"] = [];
  for (const u of policy.users ?? []) {
    const id = userPrincipalId(u.email);
    principals.push({ id, kind: "user", email: u.email, ...(u.name !== undefined ? { name: u.name } : {}) });
    for (const g of u.groups ?? []) members.push({ principal: id, group: g });
  }
  for (const t of policy.tasks ?? []) {
    const id = taskPrincipalId(t.id);
    principals.push({ id, kind: "task", ...(t.name !== undefined ? { name: t.name } : {}) });
    for (const g of t.groups ?? []) members.push({ principal: id, group: g });
  }
  const grants: Grant[] = [];
  for (const g of policy.grants) {
    const expiresAt = g.expires === undefined ? undefined : Math.floor(Date.parse(g.expires) / 1000);
    const subjects = [
      ...(g.users ?? []).map((u) => ({ kind: "principal" as const, id: userPrincipalId(u) })),
      ...(g.tasks ?? []).map((t) => ({ kind: "principal" as const, id: taskPrincipalId(t) })),
      ...(g.groups ?? []).map((name) => ({ kind: "group" as const, name })),
    ];
    for (const tool of g.tools) {
      for (const subject of subjects) {
        const extra = expiresAt !== undefined ? { expiresAt } : {};
        grants.push({ tool, subject, ...extra });
        const companion = companions.get(tool);
        if (companion) grants.push({ tool: companion, subject, ...extra });
      }
    }
  }
  return { workspace: policy.workspace, hash: await sha256Hex(canonicalJson(policy)), tools, grants, principals, members };
}
