import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { postJson, setClock } from "./oauth-helpers";
import { mcpRequest, tokenFor } from "./tokens";

// Filing, deciding and refusing a write request needs no database (the statement runs only after all of that), so
// the approval lifecycle's dead ends are tested here against real D1. Execution itself is in test/e2e/approvals.

type Result = { isError?: boolean; content: Array<{ text: string }>; structuredContent?: { approval?: { id: string } } };

async function requestStage(token: string, opportunity: number): Promise<Result> {
  const call = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "update_opportunity_stage", arguments: { opportunity_id: opportunity, stage: "closed_won" } } };
  const res = await SELF.fetch(mcpRequest(call, { token }));
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: Result }).result;
}

const text = (r: Result) => r.content.map((c) => c.text).join("\n");

describe("approval lifecycle", () => {
  it("after an expired request has been reported, the same call files a new request", async () => {
    const first = await requestStage(await tokenFor("wes@example.com", "db:read db:write"), 78);
    const stale = first.structuredContent!.approval!.id;
    await setClock(31 * 60);
    try {
      // Tokens are minted by the test with the real clock: write tokens live 5 minutes, so mint at the moved time.
      const wes = await tokenFor("wes@example.com", "db:read db:write", { iat: Math.floor(Date.now() / 1000) + 31 * 60, exp: Math.floor(Date.now() / 1000) + 31 * 60 + 300 });
      expect(text(await requestStage(wes, 78))).toMatch(/^The approval for this request expired/);
      const again = await requestStage(wes, 78);
      expect(text(again)).toMatch(/^Approval requested/);
      expect(again.structuredContent!.approval!.id).not.toBe(stale);
    } finally {
      await setClock(0);
    }
  });

  it("after a changed tool voids an approval, the same call files a new request", async () => {
    const wes = await tokenFor("wes@example.com", "db:read db:write");
    const first = await requestStage(wes, 77);
    const id = first.structuredContent!.approval!.id;
    expect(text(first)).toMatch(/^Approval requested/);
    const maria = await tokenFor("maria@example.com", "gatehouse:approve");
    expect((await postJson(`/admin/api/approvals/${id}/approve`, {}, { Authorization: `Bearer ${maria}` })).status).toBe(200);

    // The admin edits the tool after the approval: the approver saw other SQL, so the approval no longer applies.
    const doc = parse(demoPolicy) as { tools: Record<string, { description: string }> };
    doc.tools.update_opportunity_stage!.description += " (reworded)";
    const admin = await tokenFor("admin@example.com", "gatehouse:admin");
    expect((await postJson("/admin/api/policy", doc, { Authorization: `Bearer ${admin}` })).status).toBe(200);

    const voided = await requestStage(wes, 77);
    expect(voided.isError).toBe(true);
    expect(text(voided)).toMatch(/^The tool changed after the request was approved/);
    const again = await requestStage(wes, 77);
    expect(text(again)).toMatch(/^Approval requested/);
    expect(again.structuredContent!.approval!.id).not.toBe(id);
  });
});
