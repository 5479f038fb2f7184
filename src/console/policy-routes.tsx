/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { compilePolicy } from "../policy/compile";
import { diffPolicies, type PolicyChange } from "../policy/diff";
import type { PolicyDocument } from "../policy/document";
import { currentPolicy } from "../policy/store-d1";
import { policyDocuments, policyVersions } from "../policy/directory-d1";
import { parse } from "yaml";
import { applyOrProposePolicy, previewPolicy } from "../admin/proposals";
import { checkPolicyForWorkspace } from "../admin/policy-apply";
import type { PolicyError } from "../policy/document";
import { auditConsoleRefusal, type ConsoleUser } from "./auth";
import { forbidden, page, signedIn, signedInAdmin } from "./guard";
import { PolicyPage, PolicyPreviewPage, type VersionRow } from "./policy-pages";

/** The effective policy of the admin's workspace: head version, grants matrix, version history with diffs. */
export const policyConsole = new Hono<AppEnv>();

policyConsole.get("/", (c) =>
  signedIn(c, async (user) => {
    if (!user.roles.admin) {
      await auditConsoleRefusal(c, "not_admin", { principal: user.principal, workspace: user.workspace });
      return forbidden(c);
    }
    const versions: VersionRow[] = await policyVersions(c.env.DB, user.workspace, 50);
    const snapshot = await currentPolicy(c.env.DB, user.workspace);
    // The diff of one version against the one before it, compiled from the stored documents.
    const wanted = Number(c.req.query("diff") ?? versions[0]?.version ?? 0);
    let diff: { version: number; changes: PolicyChange[] } | null = null;
    if (Number.isInteger(wanted) && wanted > 0) {
      const docs = await policyDocuments(c.env.DB, user.workspace, wanted, wanted - 1);
      const after = docs.find((d) => d.version === wanted);
      const before = docs.find((d) => d.version === wanted - 1);
      // A stored document that no longer compiles (an older schema) shows no diff rather than failing the page.
      if (after) {
        try {
          const compiled = await compilePolicy(JSON.parse(after.document) as PolicyDocument);
          diff = { version: wanted, changes: diffPolicies(before ? await compilePolicy(JSON.parse(before.document) as PolicyDocument) : undefined, compiled) };
        } catch {
          diff = null;
        }
      }
    }
    const applied = Number(c.req.query("applied"));
    const flash = Number.isInteger(applied) && applied > 0 ? `Applied: version ${applied}.` : undefined;
    return page(c, 200, (n) => <PolicyPage nonce={n} user={user} versions={versions} snapshot={snapshot} diff={diff} flash={flash} />);
  }),
);

/** Largest policy document the console accepts (pasted or uploaded). */
const MAX_POLICY_BYTES = 256 * 1024;

/** The uploaded file if one was chosen, else the pasted text. */
async function documentText(form: FormData | null): Promise<string> {
  const file = form?.get("file");
  if (file && typeof file !== "string" && file.size > 0) return file.size > MAX_POLICY_BYTES ? "\u0000too large" : await file.text();
  const text = form?.get("document");
  return typeof text === "string" ? text : "";
}

/** The form's YAML (or JSON) through every check an apply makes; errors name their path. */
async function checked(c: Context<AppEnv>, user: ConsoleUser, text: string): Promise<{ ok: true; policy: PolicyDocument } | { ok: false; errors: PolicyError[] }> {
  if (text.trim() === "") return { ok: false, errors: [{ path: "$", message: "paste a policy or choose a file" }] };
  if (text.length > MAX_POLICY_BYTES || text === "\u0000too large") return { ok: false, errors: [{ path: "$", message: `a policy is at most ${MAX_POLICY_BYTES / 1024} KiB` }] };
  let input: unknown;
  try {
    input = parse(text, { maxAliasCount: 50 });
  } catch (e) {
    return { ok: false, errors: [{ path: "$", message: `not valid YAML: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200)}` }] };
  }
  return checkPolicyForWorkspace(input, user.workspace, c.env);
}

// POST /console/policy/preview: validate the pasted or uploaded document and show the diff against the current
// version, and whether applying it would be held for a second admin. Nothing is stored.
policyConsole.post("/preview", (c) =>
  signedInAdmin(c, async (user, form) => {
    const text = await documentText(form);
    const r = await checked(c, user, text);
    if (!r.ok) return page(c, 400, (n) => <PolicyPreviewPage nonce={n} user={user} text={text.startsWith("\u0000") ? "" : text} errors={r.errors} preview={null} />);
    const preview = await previewPolicy(c, user.workspace, r.policy);
    return page(c, 200, (n) => <PolicyPreviewPage nonce={n} user={user} text={text} errors={[]} preview={preview} />);
  }),
);

// POST /console/policy/apply: the previewed document (and the version it was previewed on). Applied at once, or
// held as a proposal when it widens write access (the two-person rule, docs/console.md "Proposals").
policyConsole.post("/apply", (c) =>
  signedInAdmin(c, async (user, form) => {
    const text = await documentText(form);
    const r = await checked(c, user, text);
    if (!r.ok) return page(c, 400, (n) => <PolicyPreviewPage nonce={n} user={user} text={text} errors={r.errors} preview={null} />);
    const base = Number(form?.get("base_version"));
    const out = await applyOrProposePolicy(c, { id: user.principal, workspace: user.workspace }, r.policy, { previewedOn: Number.isInteger(base) ? base : -1 });
    if ("conflict" in out) {
      const preview = await previewPolicy(c, user.workspace, r.policy);
      return page(c, 409, (n) => (
        <PolicyPreviewPage nonce={n} user={user} text={text} errors={[]} preview={preview} flash="The policy changed since this preview. Review the new diff and apply again." />
      ));
    }
    if (out.held) return c.redirect(`/console/proposals/${out.proposal.id}?done=held`, 303);
    return c.redirect(`/console/policy?applied=${out.applied.version}`, 303);
  }),
);
