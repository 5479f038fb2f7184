/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { compilePolicy } from "../policy/compile";
import { diffPolicies, type PolicyChange } from "../policy/diff";
import type { PolicyDocument } from "../policy/document";
import { currentPolicy } from "../policy/store-d1";
import { auditConsoleRefusal } from "./auth";
import { forbidden, page, signedIn } from "./guard";
import { PolicyPage, type VersionRow } from "./policy-pages";

/** The effective policy of the admin's workspace: head version, grants matrix, version history with diffs. */
export const policyConsole = new Hono<AppEnv>();

policyConsole.get("/", (c) =>
  signedIn(c, async (user) => {
    if (!user.roles.admin) {
      await auditConsoleRefusal(c, "not_admin", { principal: user.principal, workspace: user.workspace });
      return forbidden(c);
    }
    const versions = (await c.env.DB.prepare("SELECT version, hash, applied_at, applied_by FROM policy_versions WHERE workspace_id = ? ORDER BY version DESC LIMIT 50").bind(user.workspace).all<VersionRow>()).results;
    const snapshot = await currentPolicy(c.env.DB, user.workspace);
    // The diff of one version against the one before it, compiled from the stored documents.
    const wanted = Number(c.req.query("diff") ?? versions[0]?.version ?? 0);
    let diff: { version: number; changes: PolicyChange[] } | null = null;
    if (Number.isInteger(wanted) && wanted > 0) {
      const docs = (await c.env.DB.prepare("SELECT version, document FROM policy_versions WHERE workspace_id = ? AND version IN (?, ?)").bind(user.workspace, wanted, wanted - 1).all<{ version: number; document: string }>()).results;
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
    return page(c, 200, (n) => <PolicyPage nonce={n} user={user} versions={versions} snapshot={snapshot} diff={diff} />);
  }),
);
