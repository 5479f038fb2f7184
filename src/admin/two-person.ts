import type { CompiledPolicy } from "../policy/compile";
import type { Grant, ToolDefinition } from "../policy/types";

/**
 * The two-person rule for admin operations (docs/console.md "Proposals"): an operation that lets someone change
 * data they could not change before, or moves a tool onto another database credential, is held as a proposal until
 * a second admin of the workspace approves it; everything else applies at once. Pure: the callers load the policies
 * and pass the clock.
 */

/** A proposal waits this long for a second admin; afterwards it is expired and never applies. */
export const PROPOSAL_TTL_SECONDS = 24 * 3600;

export type ProposalKind = "policy" | "task";
export type ProposalState = "pending" | "applied" | "denied" | "expired" | "stale";

/** Membership of this group is who may approve proposals (and apply policies). */
const ADMINS = "admins";

const subjectKey = (g: Grant) => (g.subject.kind === "principal" ? g.subject.id : `group:${g.subject.name}`);
const until = (at: number | undefined) => (at === undefined ? "no expiry" : new Date(at * 1000).toISOString());

/** The fields of a write tool that decide which rows it may change and how (title, description, hints, rate and timeouts do not). */
const WRITE_SCOPE_FIELDS = ["sql", "bind", "identity", "inputSchema", "constants", "requiresApproval", "approverGroup"] as const satisfies ReadonlyArray<keyof ToolDefinition>;

/** Everyone a set of grants reaches for `tool`: subject → latest expiry (undefined = none). */
function reach(grants: Grant[], tool: string): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const g of grants) {
    if (g.tool !== tool) continue;
    const key = subjectKey(g);
    const prev = out.has(key) ? out.get(key) : null;
    // Several grants to one subject: the widest one counts (no expiry beats any expiry).
    out.set(key, prev === null ? g.expiresAt : prev === undefined || g.expiresAt === undefined ? undefined : Math.max(prev, g.expiresAt));
  }
  return out;
}

const laterThan = (after: number | undefined, before: number | undefined) => before !== undefined && (after === undefined || after > before);

/**
 * Why applying `after` over `before` needs a second admin, one reason per finding (empty: it applies at once).
 * Held:
 * - a new write tool, or a tool that becomes one;
 * - a write tool granted to a principal or group it was not granted to, or a grant's expiry extended or removed;
 * - a principal added to a group that holds a write grant (it reaches the tool through the group);
 * - a write tool's `max_affected_rows` raised, or what it runs changed (statement, bound parameters, identity
 *   bindings, input schema, approval requirement or approver group);
 * - any tool moved to another database role secret or tier: the credential decides what the database lets it do
 *   (the deployment binds secrets to workspaces, `DATABASE_CREDENTIALS`; the policy picks among them);
 * - a member added to `admins` while the workspace already has two or more admins (with one admin, adding the
 *   second is how the rule becomes usable at all; a sole admin holds every power anyway).
 * The first policy of a workspace (`before` undefined) is never held: nobody exists yet to approve it.
 */
export function policyHoldReasons(before: CompiledPolicy | undefined, after: CompiledPolicy): string[] {
  if (!before) return [];
  const reasons: string[] = [];
  const old = new Map(before.tools.map((t) => [t.name, t]));
  const writeTools = after.tools.filter((t) => t.kind === "write");
  for (const t of after.tools) {
    const was = old.get(t.name);
    if (was && (was.secret !== t.secret || was.tier !== t.tier)) reasons.push(`tool ${t.name} moves from credential ${was.secret} (${was.tier}) to ${t.secret} (${t.tier})`);
  }
  for (const t of writeTools) {
    const was = old.get(t.name);
    if (was?.kind !== "write") {
      reasons.push(`adds write tool ${t.name}`);
      continue;
    }
    const changed = WRITE_SCOPE_FIELDS.filter((f) => JSON.stringify(was[f]) !== JSON.stringify(t[f]));
    if (changed.length > 0) reasons.push(`changes what write tool ${t.name} runs: ${changed.join(", ")}`);
    const a = t.limits.maxAffectedRows;
    const b = was.limits.maxAffectedRows;
    if (b !== undefined && (a === undefined || a > b)) reasons.push(`raises max_affected_rows of ${t.name} from ${b} to ${a ?? "unlimited"}`);
    const beforeReach = reach(before.grants, t.name);
    for (const [subject, expires] of reach(after.grants, t.name)) {
      if (!beforeReach.has(subject)) reasons.push(`grants write tool ${t.name} to ${subject}`);
      else if (laterThan(expires, beforeReach.get(subject))) reasons.push(`extends the grant of write tool ${t.name} to ${subject} until ${until(expires)}`);
    }
  }
  // Groups that reach a write tool in the new policy: a new member of one gains it.
  const writeGroups = new Map<string, string[]>();
  for (const g of after.grants) {
    if (g.subject.kind !== "group" || !writeTools.some((t) => t.name === g.tool)) continue;
    writeGroups.set(g.subject.name, [...(writeGroups.get(g.subject.name) ?? []), g.tool]);
  }
  const oldMembers = new Set(before.members.map((m) => `${m.principal}\u0000${m.group}`));
  const admins = before.members.filter((m) => m.group === ADMINS).length;
  for (const m of after.members) {
    if (oldMembers.has(`${m.principal}\u0000${m.group}`)) continue;
    const tools = writeGroups.get(m.group);
    if (tools) reasons.push(`adds ${m.principal} to group ${m.group}, which holds write tool(s) ${[...new Set(tools)].join(", ")}`);
    if (m.group === ADMINS && admins >= 2) reasons.push(`adds ${m.principal} to ${ADMINS}`);
  }
  return reasons;
}

/** Why creating a task client with these tools needs a second admin: each write tool it would call. */
export function taskHoldReasons(tools: readonly string[], definitions: ReadonlyMap<string, Pick<ToolDefinition, "kind">>): string[] {
  return tools.filter((t) => definitions.get(t)?.kind === "write").map((t) => `the task client may call write tool ${t}`);
}

/** What the proposal lifecycle needs of a stored proposal. */
export interface ProposalView {
  workspace_id: string;
  proposer: string;
  state: ProposalState;
  expires_at: number;
  base_version: number;
}

/** The state as of `now`: a pending proposal past its expiry is expired, whether or not that was recorded yet. */
export function proposalState(p: Pick<ProposalView, "state" | "expires_at">, now: number): ProposalState {
  return p.state === "pending" && p.expires_at <= now ? "expired" : p.state;
}

export type DecisionCheck =
  | { ok: true }
  | { ok: false; kind: "not_found" }
  | { ok: false; kind: "own_proposal" }
  | { ok: false; kind: "not_pending"; state: ProposalState }
  | { ok: false; kind: "stale"; base: number; head: number };

/**
 * Whether `decider` (an admin of `workspace`) may approve or deny the proposal now. The proposer never may,
 * whatever client or session they use (the principal decides), but may deny (withdraw) it. An approval also needs the workspace's policy
 * still at the version the proposal was computed against: a diff against another version is not what was
 * reviewed. A denial does not (it applies nothing).
 */
export function checkDecision(p: ProposalView | null, decider: { id: string; workspace: string }, decision: "approve" | "deny", now: number, headVersion: number): DecisionCheck {
  if (!p || p.workspace_id !== decider.workspace) return { ok: false, kind: "not_found" };
  const state = proposalState(p, now);
  if (state !== "pending") return { ok: false, kind: "not_pending", state };
  if (decision === "approve" && p.proposer === decider.id) return { ok: false, kind: "own_proposal" };
  if (decision === "approve" && headVersion !== p.base_version) return { ok: false, kind: "stale", base: p.base_version, head: headVersion };
  return { ok: true };
}
