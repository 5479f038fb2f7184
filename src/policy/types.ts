import type { Tier } from "./tiers";
import type { PerMinute } from "./rate-limits";

export type ToolKind = "read" | "sql" | "write";

/** Claims a tool parameter may be bound to; the value comes from the verified token, never from the model. */
export type IdentityClaim = "email" | "sub" | "workspace";

export interface ToolLimits {
  maxRows: number;
  maxBytes: number;
  timeoutMs: number;
  ratePerMinute: PerMinute;
  maxAffectedRows?: number;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** A tool as stored in D1 after compilation: everything the request path needs, with references resolved. */
export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  kind: ToolKind;
  dbRole: string;
  tier: Tier;
  /** Name of the Worker secret holding this role's own connection string. */
  secret: string;
  /** The statement of a read or write tool; empty for sql tools, whose statement comes from the caller. */
  sql: string;
  /** sql tools: the relations the guard lets the caller's SQL read (schema-qualified). */
  relations?: string[];
  /** JSON Schema of the arguments the model supplies (identity-bound parameters are absent). */
  inputSchema: JsonObjectSchema;
  /** Names bound to $1..$n, in order: each is an input property or an identity-bound parameter. */
  bind: string[];
  identity: Record<string, IdentityClaim>;
  /** Values fixed by the policy itself (never from the model or the token), e.g. describe_data's relation list. */
  constants?: Record<string, unknown>;
  /** Parameters whose values may appear in the audit log. */
  safeParams: string[];
  limits: ToolLimits;
  annotations: ToolAnnotations;
  requiresApproval: boolean;
  approverGroup?: string;
  /** SHA-256 over the canonical definition: audit rows name the exact version that ran. */
  version: string;
}

export interface JsonObjectSchema {
  type: "object";
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties: false;
  [key: string]: unknown;
}

export type GrantSubject = { kind: "principal"; id: string } | { kind: "group"; name: string };

export interface Grant {
  tool: string;
  subject: GrantSubject;
  /** Seconds since the epoch; absent = no expiry. */
  expiresAt?: number;
}

/** A compiled policy for one workspace, cached per isolate by version. */
export interface PolicySnapshot {
  workspace: string;
  version: number;
  tools: Map<string, ToolDefinition>;
  grants: Grant[];
  /** principal id → policy groups. */
  members: Map<string, string[]>;
}

export interface Principal {
  id: string;
  kind: "user" | "task";
  email?: string;
  /** Groups from the IdP claim (in the token) and from the policy, merged. */
  groups: string[];
  workspace: string;
}
