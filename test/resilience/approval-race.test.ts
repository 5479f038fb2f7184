import { describe, expect, it } from "vitest";
import { devToken } from "../support/mcp-client";
import { readLocalD1 } from "../support/d1";
import { callTool, pgQuery, stack, text, userToken } from "./support";

const OPPORTUNITY = 30;

describe("approval race under load", () => {
  it("50 concurrent identical approved calls execute exactly once, counted by Postgres", async () => {
    const { token } = await userToken("racer@example.com");
    const first = await callTool(token, "approved_noop", { opportunity_id: OPPORTUNITY });
    const id = first.result!.structuredContent!.approval!.id;
    expect(text(first.result)).toMatch(/^Approval requested/);
    const approver = await devToken(stack, { user: "approver@example.com", workspace: "resilience", scope: "gatehouse:approve" });
    const decided = await fetch(`${stack.workerUrl}/admin/api/approvals/${id}/approve`, {
      method: "POST",
      headers: { Authorization: `Bearer ${approver}`, "Content-Type": "application/json" },
      body: "{}",
    });
    expect(decided.status).toBe(200);

    await pgQuery("SELECT pg_stat_statements_reset()");
    const calls = await Promise.all(Array.from({ length: 50 }, () => callTool(token, "approved_noop", { opportunity_id: OPPORTUNITY })));
    const ran = calls.filter((c) => !c.result?.isError);
    expect(calls.every((c) => c.status === 200)).toBe(true);
    expect(ran).toHaveLength(1);
    // A write reports its changed-row count.
    expect(ran[0]!.result!.structuredContent!.rows).toEqual([[1]]);
    expect(calls.filter((c) => c.result?.isError).map((c) => text(c.result))).toEqual(Array(49).fill("This approved request was already executed (an approval runs once). Nothing was run again."));

    // Postgres itself: the write role executed the UPDATE once, and nothing else wrote as it.
    const executed = await pgQuery<{ query: string; calls: string }>(
      "SELECT s.query, s.calls::text FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'gatehouse_writer' AND s.query ILIKE '%UPDATE sales.opportunities%'",
    );
    expect(executed.reduce((n, r) => n + Number(r.calls), 0)).toBe(1);

    const audit = await readLocalD1<{ outcome: string; rule: string | null }>(
      stack.stateDir,
      `SELECT outcome, rule FROM audit_events WHERE approval_id = '${id}' AND event = 'tool.call' AND outcome != 'pending_approval'`,
    );
    expect(audit.filter((a) => a.outcome === "ok")).toHaveLength(1);
    expect(audit.filter((a) => a.outcome === "denied" && a.rule === "approval:already_used")).toHaveLength(49);
  });
});
