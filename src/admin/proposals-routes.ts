import { Hono } from "hono";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { decideProposal, proposalFor, proposalJson, proposalsOf } from "./proposals";

/**
 * Proposals of the two-person rule (docs/console.md "Proposals"), under the admin API's admin check: list and show
 * the caller's workspace's proposals, approve (which applies the stored payload) or deny with a reason.
 */
export const proposalRoutes = new Hono<AppEnv>();

const adminOf = (c: { get: (k: "caller") => { principal: { id: string; workspace: string } } }) => ({ id: c.get("caller").principal.id, workspace: c.get("caller").principal.workspace });

proposalRoutes.get("/", async (c) => {
  const now = nowSeconds();
  const status = c.req.query("status");
  const all = (await proposalsOf(c, adminOf(c).workspace)).map((p) => proposalJson(p, now));
  return c.json({ proposals: status ? all.filter((p) => p.state === status) : all });
});

proposalRoutes.get("/:id", async (c) => {
  const p = await proposalFor(c, adminOf(c), c.req.param("id"));
  if (!p) return c.json({ error: "not_found", error_description: "No such proposal in this workspace." }, 404);
  return c.json(proposalJson(p, nowSeconds()));
});

for (const decision of ["approve", "deny"] as const) {
  proposalRoutes.post(`/:id/${decision}`, async (c) => {
    const raw: unknown = await c.req.json().catch(() => ({}));
    const r0 = typeof raw === "object" && raw !== null ? (raw as { reason?: unknown }).reason : undefined;
    const reason = typeof r0 === "string" && r0.trim() ? r0.trim().slice(0, 500) : null;
    const r = await decideProposal(c, adminOf(c), c.req.param("id"), decision, reason);
    if (r.ok) return c.json({ ...proposalJson(r.proposal, nowSeconds()), ...(r.applied ? { applied: r.applied } : {}), ...(r.clientId ? { client_id: r.clientId } : {}) });
    switch (r.kind) {
      case "reason_required":
        return c.json({ error: "invalid_request", error_description: "A denial needs a reason." }, 400);
      case "not_found":
        return c.json({ error: "not_found", error_description: "No such proposal in this workspace." }, 404);
      case "own_proposal":
        return c.json({ error: "forbidden", error_description: "You proposed this change: another admin must approve it." }, 403);
      case "stale":
        return c.json({ error: "conflict", error_description: r.message }, 409);
      case "invalid":
        return c.json({ error: "invalid_policy", errors: r.errors }, 409);
      case "not_pending":
        return c.json({ error: "conflict", error_description: `The proposal is already ${r.state}.` }, 409);
    }
  });
}
