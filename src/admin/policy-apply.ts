import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { PolicyDocument, PolicyError } from "../policy/document";
import { validatePolicy } from "../policy/validate";
import { compilePolicy } from "../policy/compile";
import { applyCompiledPolicy } from "../policy/store-d1";
import { headPolicyDocument } from "../policy/directory-d1";
import { diffPolicies, formatChanges } from "../policy/diff";
import { checkWriteStatements } from "../policy/write-check";
import { parseSql } from "../guard/parser";
import { nowSeconds } from "../lib/clock";
import { oauthAuditStatement } from "../oauth/audit";
import { checkCredentialBindings, credentialsFrom } from "../policy/credentials";

/**
 * One policy apply path for every caller that may apply (the admin API's POST /admin/api/policy and the first-run
 * bootstrap), so a policy is validated and recorded the same way whoever applies it.
 */

/** The document alone: strict validation, then each write tool's SQL through the Worker's own parser. */
export async function checkPolicyDocument(input: unknown): Promise<{ ok: true; policy: PolicyDocument } | { ok: false; errors: PolicyError[] }> {
  const checked = validatePolicy(input);
  if (!checked.ok) return checked;
  const writeErrors = await checkWriteStatements(checked.policy, parseSql);
  return writeErrors.length > 0 ? { ok: false, errors: writeErrors } : checked;
}

/**
 * Everything an admin's apply checks before anything is stored (admin API and console alike): the document, its
 * write statements, that it is the admin's own workspace, and the deployment's credential bindings for it.
 */
export async function checkPolicyForWorkspace(
  input: unknown,
  workspace: string,
  env: { DATABASE_CREDENTIALS?: unknown; DYNAMIC_ROLE_KEY?: unknown },
): Promise<{ ok: true; policy: PolicyDocument } | { ok: false; errors: PolicyError[] }> {
  const checked = await checkPolicyDocument(input);
  if (!checked.ok) return checked;
  if (checked.policy.workspace !== workspace) return { ok: false, errors: [{ path: "$.workspace", message: `you administer workspace "${workspace}", not "${checked.policy.workspace}"` }] };
  const errors = checkCredentialBindings(checked.policy, credentialsFrom(env));
  return errors.length > 0 ? { ok: false, errors } : checked;
}

export interface AppliedPolicy {
  workspace: string;
  version: number;
  hash: string;
  changes: string[];
}

/**
 * Applies a checked policy (the caller has also checked the deployment's credential bindings) as the next version
 * of its workspace. The version, `alsoCommit` (e.g. the bootstrap's spent marker) and the `policy.applied` audit
 * row are one D1 transaction: none is committed without the others.
 */
export async function applyPolicy(
  c: Context<AppEnv>,
  policy: PolicyDocument,
  by: string,
  opts: { rule?: string; approvalId?: string; alsoCommit?: D1PreparedStatement[] } = {},
): Promise<AppliedPolicy> {
  const compiled = await compilePolicy(policy);
  const before = await headPolicyDocument(c.env.DB, compiled.workspace);
  const previous = before ? validatePolicy(JSON.parse(before.document)) : undefined;
  const changes = diffPolicies(previous?.ok ? await compilePolicy(previous.policy) : undefined, compiled);
  const version = await applyCompiledPolicy(c.env.DB, compiled, JSON.stringify(policy), by, new Date(nowSeconds() * 1000), (v) => [
    ...(opts.alsoCommit ?? []),
    oauthAuditStatement(c, {
      event: "policy.applied",
      outcome: "ok",
      ...(opts.rule ? { rule: opts.rule } : {}),
      ...(opts.approvalId ? { approvalId: opts.approvalId } : {}),
      principal: by,
      workspace: compiled.workspace,
      detail: `version ${v} ${compiled.hash.slice(0, 16)}: ${changes.length} change(s)`,
    }),
  ]);
  return { workspace: compiled.workspace, version, hash: compiled.hash, changes: formatChanges(changes).split("\n") };
}
