/**
 * The policy file (YAML or JSON) as written by a platform team. `validatePolicy` turns untrusted input into this
 * shape or a list of errors naming the path; nothing unknown is ignored.
 */
export interface PolicyDocument {
  version: 1;
  workspace: string;
  database_roles: Record<string, { tier: "read" | "sql" | "write"; secret: string; description?: string }>;
  users: Array<{ email: string; name?: string; groups?: string[] }>;
  tasks: Array<{ id: string; name?: string; groups?: string[] }>;
  groups: Record<string, { description?: string }>;
  tools: Record<string, ToolDocument>;
  grants: Array<GrantDocument>;
}

export interface ToolDocument {
  kind: "read" | "sql" | "write";
  title: string;
  description: string;
  database_role: string;
  /** read and write tools: the statement, with $n placeholders. */
  sql?: string;
  /** sql tools (execute_sql): schema-qualified relations the caller's SQL may read. */
  relations?: string[];
  parameters?: Record<string, Record<string, unknown>>;
  required?: string[];
  identity?: Record<string, "email" | "sub" | "workspace">;
  bind?: string[];
  safe_params?: string[];
  limits: { max_rows: number; max_bytes?: number; timeout_ms: number; rate_per_minute: 10 | 30 | 60 | 120 | 600 | 60000; max_affected_rows?: number };
  requires_approval?: boolean;
  approver_group?: string;
  annotations?: { idempotentHint?: boolean; openWorldHint?: boolean };
}

export interface GrantDocument {
  tools: string[];
  users?: string[];
  tasks?: string[];
  groups?: string[];
  expires?: string;
}

export interface PolicyError {
  path: string;
  message: string;
}
