import type { CompiledPolicy } from "./compile";
import type { Grant, PolicySnapshot, ToolDefinition } from "./types";

/**
 * Replaces a workspace's policy in one D1 batch (a single transaction): either the whole new version is visible
 * or none of it. `audit` adds the apply's audit row (and any statement that must commit with it) to the same
 * batch, so the version is not committed without it, and a failing one rolls the version back. Returns the new
 * version number.
 */
export async function applyCompiledPolicy(
  db: D1Database,
  compiled: CompiledPolicy,
  document: string,
  appliedBy: string,
  now: Date,
  audit?: (version: number) => D1PreparedStatement | D1PreparedStatement[],
): Promise<number> {
  const ws = compiled.workspace;
  const head = await db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM policy_versions WHERE workspace_id = ?").bind(ws).first<{ v: number }>();
  const version = (head?.v ?? 0) + 1;
  const statements: D1PreparedStatement[] = [
    db
      .prepare("INSERT INTO policy_versions (workspace_id, version, hash, applied_at, applied_by, document) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(ws, version, compiled.hash, now.toISOString(), appliedBy, document),
    db.prepare("DELETE FROM tools WHERE workspace_id = ?").bind(ws),
    db.prepare("DELETE FROM grants WHERE workspace_id = ?").bind(ws),
    db.prepare("DELETE FROM group_members WHERE workspace_id = ?").bind(ws),
    db.prepare("DELETE FROM principals WHERE workspace_id = ?").bind(ws),
  ];
  compiled.tools.forEach((t, i) => {
    statements.push(db.prepare("INSERT INTO tools (workspace_id, name, version, kind, definition, ordinal) VALUES (?, ?, ?, ?, ?, ?)").bind(ws, t.name, t.version, t.kind, JSON.stringify(t), i));
  });
  for (const g of compiled.grants) {
    const subject = g.subject.kind === "principal" ? g.subject.id : g.subject.name;
    statements.push(
      db.prepare("INSERT OR REPLACE INTO grants (workspace_id, tool_name, subject_kind, subject, expires_at) VALUES (?, ?, ?, ?, ?)").bind(ws, g.tool, g.subject.kind, subject, g.expiresAt ?? null),
    );
  }
  for (const p of compiled.principals) {
    statements.push(db.prepare("INSERT INTO principals (workspace_id, id, kind, email, display_name) VALUES (?, ?, ?, ?, ?)").bind(ws, p.id, p.kind, p.email ?? null, p.name ?? null));
  }
  for (const m of compiled.members) {
    statements.push(db.prepare("INSERT OR IGNORE INTO group_members (workspace_id, group_name, principal_id) VALUES (?, ?, ?)").bind(ws, m.group, m.principal));
  }
  if (audit) statements.push(...[audit(version)].flat());
  await db.batch(statements);
  return version;
}

interface ToolRow {
  definition: string;
}
interface GrantRow {
  tool_name: string;
  subject_kind: "principal" | "group";
  subject: string;
  expires_at: number | null;
}
interface MemberRow {
  group_name: string;
  principal_id: string;
}

/** Loads a whole workspace policy; callers cache it by version. */
export async function loadPolicySnapshot(db: D1Database, workspace: string, version: number): Promise<PolicySnapshot> {
  const [tools, grants, members] = await db.batch<ToolRow | GrantRow | MemberRow>([
    db.prepare("SELECT definition FROM tools WHERE workspace_id = ? ORDER BY ordinal").bind(workspace),
    db.prepare("SELECT tool_name, subject_kind, subject, expires_at FROM grants WHERE workspace_id = ?").bind(workspace),
    db.prepare("SELECT group_name, principal_id FROM group_members WHERE workspace_id = ?").bind(workspace),
  ]);
  const toolMap = new Map<string, ToolDefinition>();
  for (const row of (tools?.results ?? []) as ToolRow[]) {
    const def = JSON.parse(row.definition) as ToolDefinition;
    toolMap.set(def.name, def);
  }
  const grantList: Grant[] = ((grants?.results ?? []) as GrantRow[]).map((r) => ({
    tool: r.tool_name,
    subject: r.subject_kind === "principal" ? { kind: "principal", id: r.subject } : { kind: "group", name: r.subject },
    ...(r.expires_at !== null ? { expiresAt: r.expires_at } : {}),
  }));
  const memberMap = new Map<string, string[]>();
  for (const r of (members?.results ?? []) as MemberRow[]) {
    const list = memberMap.get(r.principal_id) ?? [];
    list.push(r.group_name);
    memberMap.set(r.principal_id, list);
  }
  return { workspace, version, tools: toolMap, grants: grantList, members: memberMap };
}

export interface CallerState {
  version: number;
  revoked: string | undefined;
  /** The principal is listed in the token's workspace (a token cannot borrow another workspace's grants). */
  member: boolean;
  /** The registered name of the token's client, for the audit log. */
  clientName: string | undefined;
}

export interface CallerQuery {
  workspace: string;
  sessionId: string;
  principal: string;
  clientId: string;
  jti: string;
  iat: number;
}

/**
 * The per-call read: the workspace's current policy version and whether the token's session or id is revoked,
 * or its principal or client was revoked at or after the token was issued. Revocations count only in the
 * token's own workspace (a session id belongs to one workspace already). Returned unrun so a caller can put
 * them in one `db.batch` with the call's audit intent (tools/ports-d1.ts); callerStateFrom reads their results.
 */
export function callerStateStatements(db: D1Database, q: CallerQuery): D1PreparedStatement[] {
  // One statement returning one row: each statement of a batch costs D1 (and the binding) its own execution and
  // result encoding, and these four answers are independent lookups by key.
  return [
    db
      .prepare(
        "SELECT (SELECT COALESCE(MAX(version), 0) FROM policy_versions WHERE workspace_id = ?6) AS v, " +
          "(SELECT kind FROM revocations WHERE (kind = 'session' AND value = ?1) OR (workspace_id = ?6 AND ((kind = 'token' AND value = ?2) OR (kind = 'principal' AND value = ?3 AND revoked_at >= ?5) OR (kind = 'client' AND value = ?4 AND revoked_at >= ?5))) LIMIT 1) AS revoked, " +
          "EXISTS (SELECT 1 FROM principals WHERE workspace_id = ?6 AND id = ?3) AS member, " +
          "(SELECT client_name FROM oauth_clients WHERE client_id = ?4) AS client_name",
      )
      .bind(q.sessionId, q.jti, q.principal, q.clientId, q.iat, q.workspace),
  ];
}

/** Reads the row of {@link callerStateStatements} (the first result of the batch it was run in). */
export function callerStateFrom(results: ReadonlyArray<D1Result<unknown>>): CallerState {
  const row = results[0]?.results?.[0] as { v: number; revoked: string | null; member: number; client_name: string | null } | undefined;
  return { version: row?.v ?? 0, revoked: row?.revoked ?? undefined, member: row?.member === 1, clientName: row?.client_name ?? undefined };
}

/** The caller state alone: one round trip. */
export async function readCallerState(db: D1Database, q: CallerQuery): Promise<CallerState> {
  return callerStateFrom(await db.batch(callerStateStatements(db, q)));
}

/** Workspaces whose snapshot an isolate keeps (the latest version of each); the least recently loaded goes first. */
const MAX_CACHED_WORKSPACES = 64;
const snapshots = new Map<string, PolicySnapshot>();

/**
 * The workspace policy at `version`, loaded once per isolate per version. A newer version replaces the older
 * one, so everything compiled from a snapshot (tools/catalog.ts) is dropped with it.
 */
export async function policyAt(db: D1Database, workspace: string, version: number): Promise<PolicySnapshot> {
  const cached = snapshots.get(workspace);
  if (cached && cached.version === version) return cached;
  const snapshot = await loadPolicySnapshot(db, workspace, version);
  const current = snapshots.get(workspace);
  // Two loads may race; the newer version wins.
  if (current && current.version > version) return snapshot;
  snapshots.delete(workspace);
  snapshots.set(workspace, snapshot);
  if (snapshots.size > MAX_CACHED_WORKSPACES) snapshots.delete(snapshots.keys().next().value as string);
  return snapshot;
}

/**
 * The snapshot this isolate last loaded for a workspace, without any read. A call may be decided on it
 * optimistically only when the decision is confirmed against the current version in the same strongly
 * consistent round trip that records its audit intent (tools/ports-d1.ts).
 */
export function lastKnownPolicy(workspace: string): PolicySnapshot | undefined {
  return snapshots.get(workspace);
}

/** The workspace's policy as currently applied (head version), outside the /mcp request path. */
export async function currentPolicy(db: D1Database, workspace: string): Promise<PolicySnapshot> {
  const head = await db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM policy_versions WHERE workspace_id = ?").bind(workspace).first<{ v: number }>();
  return policyAt(db, workspace, head?.v ?? 0);
}

/** Group names the policies use (grants, memberships, approver groups): these survive the IdP groups cap first. */
export async function policyGroupNames(db: D1Database): Promise<string[]> {
  const rows = await db
    .prepare(
      "SELECT subject AS g FROM grants WHERE subject_kind = 'group' UNION SELECT group_name FROM group_members UNION SELECT json_extract(definition, '$.approverGroup') FROM tools WHERE json_extract(definition, '$.approverGroup') IS NOT NULL",
    )
    .all<{ g: string }>();
  return rows.results.map((r) => r.g);
}

/** The workspaces whose policy lists a principal, each with its current policy version (0: none applied). */
export async function workspacesListing(db: D1Database, principalId: string): Promise<Array<{ workspace: string; version: number }>> {
  const rows = await db
    .prepare(
      "SELECT p.workspace_id AS ws, COALESCE(MAX(v.version), 0) AS v FROM principals p LEFT JOIN policy_versions v ON v.workspace_id = p.workspace_id WHERE p.id = ? GROUP BY p.workspace_id ORDER BY p.workspace_id",
    )
    .bind(principalId)
    .all<{ ws: string; v: number }>();
  return rows.results.map((r) => ({ workspace: r.ws, version: r.v }));
}

/** True when the workspace's policy lists the principal. */
export async function isListedIn(db: D1Database, workspace: string, principalId: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM principals WHERE workspace_id = ? AND id = ?").bind(workspace, principalId).first()) !== null;
}

/** True when some workspace's policy lists a user with this (lower-case) email. */
export async function isKnownUserEmail(db: D1Database, email: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM principals WHERE kind = 'user' AND email = ? LIMIT 1").bind(email).first()) !== null;
}

/** Every user any policy lists, by email, for the loopback-only dev login page. */
export async function listedUsers(db: D1Database): Promise<Array<{ email: string; name: string | null }>> {
  const rows = await db
    .prepare("SELECT email, MAX(display_name) AS name FROM principals WHERE kind = 'user' AND email IS NOT NULL GROUP BY email ORDER BY email")
    .all<{ email: string; name: string | null }>();
  return rows.results;
}
