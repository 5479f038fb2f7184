/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import { stringify } from "yaml";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { headPolicyVersion } from "../policy/directory-d1";
import { decideProposal, proposalFor, proposalsOf } from "../admin/proposals";
import type { ConsoleUser } from "./auth";
import { page, signedInAdmin } from "./guard";
import { type Flash, MessagePage } from "./pages";
import { ProposalPage, ProposalsPage } from "./proposals-pages";

/** The two-person rule's proposals (docs/console.md "Proposals"): a second admin approves (and so applies) or denies. */
export const proposalsConsole = new Hono<AppEnv>();

const adminOf = (u: ConsoleUser) => ({ id: u.principal, workspace: u.workspace });

const DONE: Record<string, string> = {
  held: "Held for a second admin: nothing changes until another admin approves this proposal.",
  applied: "Approved and applied.",
  denied: "Denied. Nothing was applied.",
};

proposalsConsole.get("/", (c) =>
  signedInAdmin(c, async (user) => {
    const proposals = await proposalsOf(c, user.workspace);
    return page(c, 200, (n) => <ProposalsPage nonce={n} user={user} proposals={proposals} now={nowSeconds()} />);
  }),
);

async function showProposal(c: Context<AppEnv>, user: ConsoleUser, id: string, status: 200 | 400 | 403 | 409, flash?: Flash): Promise<Response> {
  const p = await proposalFor(c, adminOf(user), id);
  if (!p) return page(c, 404, (n) => <MessagePage nonce={n} user={user} title="No such proposal" message="There is no proposal with this id in this workspace." />);
  const head = await headPolicyVersion(c.env.DB, user.workspace);
  const document = p.kind === "policy" ? stringify(JSON.parse(p.payload)) : null;
  return page(c, status, (n) => <ProposalPage nonce={n} user={user} proposal={p} document={document} headVersion={head} now={nowSeconds()} flash={flash} />);
}

proposalsConsole.get("/:id", (c) =>
  signedInAdmin(c, (user) => {
    const done = DONE[c.req.query("done") ?? ""];
    return showProposal(c, user, c.req.param("id"), 200, done ? { kind: "notice", text: done } : undefined);
  }),
);

for (const decision of ["approve", "deny"] as const) {
  proposalsConsole.post(`/:id/${decision}`, (c) =>
    signedInAdmin(c, async (user, form) => {
      const id = c.req.param("id");
      const raw = form?.get("reason");
      const reason = typeof raw === "string" && raw.trim() ? raw.trim().slice(0, 500) : null;
      const r = await decideProposal(c, adminOf(user), id, decision, reason);
      // Post/Redirect/Get: a reload of the result page does not post the decision again.
      if (r.ok) return c.redirect(`/console/proposals/${encodeURIComponent(id)}?done=${r.proposal.state}`, 303);
      switch (r.kind) {
        case "reason_required":
          return showProposal(c, user, id, 400, { kind: "error", text: "A denial needs a reason." });
        case "not_found":
          return page(c, 404, (n) => <MessagePage nonce={n} user={user} title="No such proposal" message="There is no proposal with this id in this workspace." />);
        case "own_proposal":
          return showProposal(c, user, id, 403, { kind: "error", text: "You proposed this change: another admin must approve it." });
        case "stale":
          return showProposal(c, user, id, 409, { kind: "error", text: `Not applied: ${r.message}.` });
        case "invalid":
          return showProposal(c, user, id, 409, {
            kind: "error",
            text: `Not applied: the policy no longer passes the deployment's checks (${r.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}).`,
          });
        case "not_pending":
          return showProposal(c, user, id, 409, { kind: "error", text: `The proposal is already ${r.state}.` });
      }
    }),
  );
}
