/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { decideApproval, visibleTo } from "../approvals/decide";
import { getApproval } from "../approvals/store-d1";
import type { ConsoleUser } from "./auth";
import { page, signedIn } from "./guard";
import { DetailPage, InboxPage, MessagePage } from "./pages";
import { consoleApprovals } from "../approvals/store-d1";
import { clientNames } from "../oauth/listing-d1";
import { bindOfVersion } from "../policy/directory-d1";

/** Approvals inbox and detail (README "Write tools and approvals"): approvers decide their groups' requests; admins see the workspace's. */
export const approvalsConsole = new Hono<AppEnv>();

const DONE: Record<string, string> = { approved: "Approved. The requester's identical call now runs once.", denied: "Denied. The requester is told once." };

/** Admins see every request of the workspace; an approver only their approver groups'. Deciding needs the group. */
const seesAll = (u: ConsoleUser) => u.roles.admin;
const viewer = (u: ConsoleUser) => ({ id: u.principal, workspace: u.workspace, groups: u.groups });

approvalsConsole.get("/", (c) =>
  signedIn(c, async (user) => {
    const now = nowSeconds();
    const { pending, decided } = await consoleApprovals(c.env.DB, user.workspace, seesAll(user) ? null : user.groups, now);
    const clients = await clientNames(
      c.env.DB,
      [...pending, ...decided].flatMap((a) => (a.client_id ? [a.client_id] : [])),
    );
    return page(c, 200, (n) => <InboxPage nonce={n} user={user} pending={pending} decided={decided} clients={clients} now={now} />);
  }),
);

async function showDetail(c: Context<AppEnv>, user: ConsoleUser, id: string, status: 200 | 400 | 403 | 409, flash?: { kind: "notice" | "error"; text: string }): Promise<Response> {
  const a = id.length <= 64 ? await getApproval(c.env.DB, id) : null;
  const visible = a !== null && a.workspace_id === user.workspace && (seesAll(user) || visibleTo(a, viewer(user)));
  if (!visible)
    return page(c, 404, (n) => <MessagePage nonce={n} user={user} title="No such request" message="There is no approval request with this id for your approver groups in this workspace." />);
  const bind = await bindOfVersion(c.env.DB, a.workspace_id, a.tool, a.tool_version);
  const names = a.client_id ? await clientNames(c.env.DB, [a.client_id]) : new Map<string, string>();
  return page(c, status, (n) => (
    <DetailPage nonce={n} user={user} a={a} bind={bind} clientName={a.client_id ? (names.get(a.client_id) ?? null) : null} now={nowSeconds()} {...(flash ? { flash } : {})} />
  ));
}

approvalsConsole.get("/:id", (c) =>
  signedIn(c, (user) => {
    const done = DONE[c.req.query("done") ?? ""];
    return showDetail(c, user, c.req.param("id"), 200, done ? { kind: "notice", text: done } : undefined);
  }),
);

for (const decision of ["approve", "deny"] as const) {
  approvalsConsole.post(`/:id/${decision}`, (c) =>
    signedIn(c, async (user, form) => {
      const id = c.req.param("id");
      const raw = form?.get("reason");
      const reason = typeof raw === "string" && raw.trim() ? raw.trim().slice(0, 500) : null;
      const r = await decideApproval(c, viewer(user), id, decision, reason);
      // Post/Redirect/Get: a reload of the result page does not post the decision again.
      if (r.ok) return c.redirect(`/console/approvals/${encodeURIComponent(id)}?done=${r.approval.status}`, 303);
      switch (r.kind) {
        case "reason_required":
          return showDetail(c, user, id, 400, { kind: "error", text: "A denial needs a reason." });
        case "not_found":
          return showDetail(c, user, id, 403, { kind: "error", text: "Only a member of this request's approver group can decide it." });
        case "requester_cannot_decide":
          return showDetail(c, user, id, 403, { kind: "error", text: "You requested this change (or created the task that did): another approver must decide it." });
        case "conflict":
          return showDetail(c, user, id, 409, { kind: "error", text: r.expired ? "The request expired before the decision." : `The request is already ${r.status}.` });
      }
    }),
  );
}
