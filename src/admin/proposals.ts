import type { Context } from "hono";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { randomId, sha256Hex } from "../lib/sha256";
import { compilePolicy, type CompiledPolicy } from "../policy/compile";
import { diffPolicies, formatChanges } from "../policy/diff";
import type { PolicyDocument, PolicyError } from "../policy/document";
import { validatePolicy } from "../policy/validate";
import { headPolicyDocument, headPolicyVersion } from "../policy/directory-d1";
import { checkCredentialBindings, credentialsFrom } from "../policy/credentials";
import { oauthAuditStatement, recordOAuthEvent } from "../oauth/audit";
import { applyPolicy, type AppliedPolicy } from "./policy-apply";
import { PROPOSAL_TTL_SECONDS, checkDecision, policyHoldReasons, proposalState, taskHoldReasons, type ProposalKind, type ProposalState } from "./two-person";
import { abortUnlessHeadStatement, claimProposalStatements, closeProposalStatement, expiredPending, getProposal, insertProposalStatement, listProposals, type ProposalRow } from "./proposals-store-d1";
import { checkTaskSpec, createTaskStatements, newTaskClient, type TaskClientSpec, type TaskSpec } from "./tasks";

/**
 * The two-person rule's adapter (docs/console.md "Proposals"), shared by the admin API, the console and so the CLI:
 * an operation is classified by two-person.ts; one that needs a second admin is stored as a proposal with its exact
 * payload, and applied only when another admin of the workspace approves it. Every transition commits in one D1
 * batch with its audit row (`proposal.created|approved|denied|expired|stale`, the proposal id in `approval_id`),
 * and an approval commits with what it applies.
 */

export interface Admin {
  id: string;
  workspace: string;
}

/** The head version of a workspace's policy and its compiled form (undefined before the first policy). */
async function head(db: D1Database, workspace: string): Promise<{ version: number; compiled: CompiledPolicy | undefined }> {
  const row = await headPolicyDocument(db, workspace);
  if (!row) return { version: 0, compiled: undefined };
  const checked = validatePolicy(JSON.parse(row.document));
  return { version: row.version, compiled: checked.ok ? await compilePolicy(checked.policy) : undefined };
}

/**
 * Why applying `after` over the head needs a second admin. A head whose stored document no longer compiles (an
 * older schema) cannot be compared: then every change is held, not none (only a workspace's first policy is free).
 */
function holdReasons(before: { version: number; compiled: CompiledPolicy | undefined }, after: CompiledPolicy): string[] {
  if (before.version > 0 && !before.compiled) return [`the current version ${before.version} can no longer be compared with (its stored document does not validate), so any change is reviewed`];
  return policyHoldReasons(before.compiled, after);
}

const headVersion = headPolicyVersion;

/** The error of a batch aborted by a guard statement (a claim that changed no row, or a moved policy head). */
const isGuardAbort = (e: unknown) => e instanceof Error && /NOT NULL constraint failed: admin_proposals\.id/.test(`${e.message} ${String((e as { cause?: unknown }).cause ?? "")}`);

export interface ProposalSummary {
  reasons: string[];
  changes: string[];
}

async function propose(c: Context<AppEnv>, admin: Admin, kind: ProposalKind, payload: string, summary: ProposalSummary, baseVersion: number): Promise<ProposalRow> {
  const now = nowSeconds();
  const row: ProposalRow = {
    id: randomId(16),
    workspace_id: admin.workspace,
    kind,
    payload,
    payload_hash: await sha256Hex(payload),
    summary: JSON.stringify(summary),
    base_version: baseVersion,
    proposer: admin.id,
    created_at: now,
    expires_at: now + PROPOSAL_TTL_SECONDS,
    state: "pending",
    decided_by: null,
    decided_at: null,
    reason: null,
  };
  await c.env.DB.batch([
    insertProposalStatement(c.env.DB, row),
    oauthAuditStatement(c, {
      event: "proposal.created",
      outcome: "ok",
      rule: kind,
      principal: admin.id,
      workspace: admin.workspace,
      approvalId: row.id,
      detail: `${kind} proposal ${row.id} on version ${baseVersion}, sha256 ${row.payload_hash.slice(0, 16)}: ${summary.reasons.join("; ")}`.slice(0, 1000),
    }),
  ]);
  return row;
}

/** What applying `policy` now would change, whether it would be held and why, and the head it was computed on. */
export async function previewPolicy(c: Context<AppEnv>, workspace: string, policy: PolicyDocument): Promise<{ base: number; changes: string[]; reasons: string[] }> {
  const before = await head(c.env.DB, workspace);
  const after = await compilePolicy(policy);
  const diff = diffPolicies(before.compiled, after);
  return { base: before.version, changes: diff.length === 0 ? [] : formatChanges(diff).split("\n"), reasons: holdReasons(before, after) };
}

export { headVersion };

export type PolicyOutcome = { held: false; applied: AppliedPolicy } | { held: true; proposal: ProposalRow } | { held: false; conflict: true };

/**
 * Applies a checked policy (document, workspace and credential bindings already checked by the caller), or holds
 * it as a proposal when it widens write access (policyHoldReasons). `previewedOn`: the head version the caller
 * showed the diff against (refused as a conflict when the policy moved since). The immediate apply commits only over the
 * head it was classified against, so a concurrent apply cannot turn a held change into an immediate one.
 */
export async function applyOrProposePolicy(c: Context<AppEnv>, admin: Admin, policy: PolicyDocument, opts: { previewedOn?: number } = {}): Promise<PolicyOutcome> {
  const before = await head(c.env.DB, admin.workspace);
  // The console applies what the admin previewed: over another version the diff would not be the one reviewed.
  if (opts.previewedOn !== undefined && opts.previewedOn !== before.version) return { held: false, conflict: true };
  const after = await compilePolicy(policy);
  const reasons = holdReasons(before, after);
  if (reasons.length > 0) {
    const changes = formatChanges(diffPolicies(before.compiled, after)).split("\n");
    return { held: true, proposal: await propose(c, admin, "policy", JSON.stringify(policy), { reasons, changes }, before.version) };
  }
  try {
    return { held: false, applied: await applyPolicy(c, policy, admin.id, { alsoCommit: [abortUnlessHeadStatement(c.env.DB, admin.workspace, before.version + 1)] }) };
  } catch (e) {
    if (isGuardAbort(e) || (e instanceof Error && /UNIQUE constraint failed: policy_versions/.test(`${e.message} ${String(e.cause ?? "")}`))) return { held: false, conflict: true };
    throw e;
  }
}

export type TaskOutcome = { ok: true; held: boolean; client: TaskClientSpec; secret: string; proposal?: ProposalRow } | { ok: false; message: string };

/** Creates a task client, or holds it as a proposal when it may call a write tool. The secret is returned either way, once. */
export async function createOrProposeTask(c: Context<AppEnv>, admin: Admin, spec: TaskSpec): Promise<TaskOutcome> {
  const now = nowSeconds();
  const checked = await checkTaskSpec(c.env.DB, admin.workspace, spec, now);
  if (!checked.ok) return checked;
  const { client, secret } = await newTaskClient(spec, checked.principal);
  const reasons = taskHoldReasons(spec.tools, checked.snapshot.tools);
  if (reasons.length > 0) {
    const changes = [`+ task client ${client.clientId} for task:${spec.task}: ${spec.tools.join(", ")} (tokens ${spec.ttl} s, until ${new Date(spec.expiresAt * 1000).toISOString()})`];
    const proposal = await propose(c, admin, "task", JSON.stringify(client), { reasons, changes }, checked.snapshot.version);
    return { ok: true, held: true, client, secret, proposal };
  }
  // The client and its audit row are one transaction: no credential exists that the log does not record.
  await c.env.DB.batch(createTaskStatements(c, admin.workspace, client, admin.id));
  return { ok: true, held: false, client, secret };
}

/** Records pending proposals past their expiry as expired, each with its audit row (a no-op for one already closed). */
export async function sweepExpired(c: Context<AppEnv>, workspace: string): Promise<void> {
  const now = nowSeconds();
  const due = await expiredPending(c.env.DB, workspace, now);
  if (due.length === 0) return;
  await c.env.DB.batch(
    due.flatMap((p) => [
      closeProposalStatement(c.env.DB, p.id, "expired", null, null, now),
      oauthAuditStatement(
        c,
        { event: "proposal.expired", outcome: "ok", rule: p.kind, principal: p.proposer, workspace, approvalId: p.id, detail: `${p.kind} proposal ${p.id} expired unapproved` },
        { ifChanged: true },
      ),
    ]),
  );
}

export async function proposalsOf(c: Context<AppEnv>, workspace: string): Promise<ProposalRow[]> {
  await sweepExpired(c, workspace);
  return listProposals(c.env.DB, workspace);
}

export async function proposalFor(c: Context<AppEnv>, admin: Admin, id: string): Promise<ProposalRow | null> {
  if (id.length > 64) return null;
  await sweepExpired(c, admin.workspace);
  const p = await getProposal(c.env.DB, id);
  return p && p.workspace_id === admin.workspace ? p : null;
}

export type DecideResult =
  | { ok: true; proposal: ProposalRow; applied?: AppliedPolicy; clientId?: string }
  | { ok: false; kind: "not_found" | "own_proposal" | "reason_required" }
  | { ok: false; kind: "not_pending"; state: ProposalState }
  | { ok: false; kind: "stale"; message: string }
  | { ok: false; kind: "invalid"; errors: PolicyError[] };

export const STALE_MESSAGE = "policy changed since proposal, propose again";

/**
 * Approves (and so applies) or denies a proposal, as `admin`. Refusals after the proposal is found are audited.
 * An approval applies the stored payload exactly once: the claim (pending, unexpired, not the proposer's, policy
 * head still the proposal's base) commits in one batch with what it applies and both audit rows, and aborts the
 * whole batch otherwise. A proposal whose base version is no longer the head is closed as stale.
 */
export async function decideProposal(c: Context<AppEnv>, admin: Admin, id: string, decision: "approve" | "deny", reason: string | null): Promise<DecideResult> {
  if (decision === "deny" && !reason) return { ok: false, kind: "reason_required" };
  const p = await proposalFor(c, admin, id);
  const now = nowSeconds();
  const current = await headVersion(c.env.DB, admin.workspace);
  const check = checkDecision(p, admin, decision, now, current);
  if (!p) return { ok: false, kind: "not_found" };
  const base = { principal: admin.id, workspace: admin.workspace, approvalId: p.id, rule: p.kind };
  if (!check.ok) {
    const rule = check.kind === "not_pending" ? `already_${check.state}` : check.kind;
    if (check.kind === "stale") {
      await c.env.DB.batch([
        closeProposalStatement(c.env.DB, p.id, "stale", admin.id, STALE_MESSAGE, now),
        oauthAuditStatement(
          c,
          { event: "proposal.stale", outcome: "ok", ...base, detail: `${p.kind} proposal ${p.id} was computed on version ${check.base}; the policy is at version ${check.head}` },
          { ifChanged: true },
        ),
      ]);
    }
    await recordOAuthEvent(c, { event: `proposal.${decision}`, outcome: "denied", ...base, rule, detail: `${p.kind} proposal ${p.id} by ${p.proposer}` });
    if (check.kind === "not_found") return { ok: false, kind: "not_found" };
    if (check.kind === "own_proposal") return { ok: false, kind: "own_proposal" };
    if (check.kind === "stale") return { ok: false, kind: "stale", message: STALE_MESSAGE };
    return { ok: false, kind: "not_pending", state: check.state };
  }
  if (decision === "deny") {
    const [closed] = await c.env.DB.batch([
      closeProposalStatement(c.env.DB, p.id, "denied", admin.id, reason, now),
      oauthAuditStatement(c, { event: "proposal.denied", outcome: "ok", ...base, detail: `${p.kind} proposal ${p.id} by ${p.proposer}: ${reason}`.slice(0, 1000) }, { ifChanged: true }),
    ]);
    if ((closed?.meta.changes ?? 0) !== 1) return conflict(c, admin, p.id, decision);
    return { ok: true, proposal: { ...p, state: "denied", decided_by: admin.id, decided_at: now, reason } };
  }
  const approved = oauthAuditStatement(c, { event: "proposal.approved", outcome: "ok", ...base, detail: `${p.kind} proposal ${p.id} by ${p.proposer}, sha256 ${p.payload_hash.slice(0, 16)}` });
  try {
    if (p.kind === "policy") {
      const checked = validatePolicy(JSON.parse(p.payload));
      // The deployment's credential bindings may have changed since the proposal: checked again, as at apply time.
      const errors = checked.ok ? checkCredentialBindings(checked.policy, credentialsFrom(c.env)) : checked.errors;
      if (!checked.ok || errors.length > 0) return { ok: false, kind: "invalid", errors };
      const claim = claimProposalStatements(c.env.DB, { id: p.id, workspace: admin.workspace, by: admin.id, now, expectedHead: p.base_version + 1 });
      const applied = await applyPolicy(c, checked.policy, p.proposer, { rule: "proposal", approvalId: p.id, alsoCommit: [...claim, approved] });
      return { ok: true, proposal: { ...p, state: "applied", decided_by: admin.id, decided_at: now }, applied };
    }
    const client = JSON.parse(p.payload) as TaskClientSpec;
    const claim = claimProposalStatements(c.env.DB, { id: p.id, workspace: admin.workspace, by: admin.id, now, expectedHead: p.base_version });
    await c.env.DB.batch([...claim, approved, ...createTaskStatements(c, admin.workspace, client, p.proposer, { approvalId: p.id, detail: `approved by ${admin.id}` })]);
    return { ok: true, proposal: { ...p, state: "applied", decided_by: admin.id, decided_at: now }, clientId: client.clientId };
  } catch (e) {
    if (!isGuardAbort(e) && !(e instanceof Error && /UNIQUE constraint failed: (policy_versions|oauth_clients)/.test(`${e.message} ${String(e.cause ?? "")}`))) throw e;
    return conflict(c, admin, p.id, decision);
  }
}

/** A decision that lost a race (another admin decided first, or the policy moved while applying): say which. */
async function conflict(c: Context<AppEnv>, admin: Admin, id: string, decision: "approve" | "deny"): Promise<DecideResult> {
  const again = await getProposal(c.env.DB, id);
  const now = nowSeconds();
  if (again && proposalState(again, now) === "pending") {
    await recordOAuthEvent(c, { event: `proposal.${decision}`, outcome: "denied", rule: "stale", principal: admin.id, workspace: admin.workspace, approvalId: id });
    return { ok: false, kind: "stale", message: STALE_MESSAGE };
  }
  const state = again ? proposalState(again, now) : "expired";
  await recordOAuthEvent(c, { event: `proposal.${decision}`, outcome: "denied", rule: `already_${state}`, principal: admin.id, workspace: admin.workspace, approvalId: id });
  return { ok: false, kind: "not_pending", state };
}

/** The JSON view of a proposal (admin API, CLI). */
export function proposalJson(p: ProposalRow, now: number): Record<string, unknown> {
  const summary = JSON.parse(p.summary) as ProposalSummary;
  const view: Record<string, unknown> = {
    id: p.id,
    kind: p.kind,
    state: proposalState(p, now),
    proposer: p.proposer,
    created_at: new Date(p.created_at * 1000).toISOString(),
    expires_at: new Date(p.expires_at * 1000).toISOString(),
    base_version: p.base_version,
    payload_sha256: p.payload_hash,
    reasons: summary.reasons,
    changes: summary.changes,
    decided_by: p.decided_by,
    decided_at: p.decided_at === null ? null : new Date(p.decided_at * 1000).toISOString(),
    reason: p.reason,
  };
  if (p.kind === "task") {
    const t = JSON.parse(p.payload) as TaskClientSpec;
    view.task = { client_id: t.clientId, task: t.task, tools: t.tools, ttl_seconds: t.ttl, expires_at: new Date(t.expiresAt * 1000).toISOString(), name: t.name };
  } else view.document = JSON.parse(p.payload) as unknown;
  return view;
}
