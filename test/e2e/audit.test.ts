import { describe, expect, inject, it } from "vitest";
import { connectClient, devToken } from "../support/mcp-client";
import { jwtPayload, queryD1 } from "../support/d1";

const e2e = inject("e2e");

interface AuditRow {
  event: string;
  outcome: string;
  rule: string | null;
  principal: string;
  tool: string;
  db_role: string;
  sql_hash: string;
  params: string | null;
  rows: number | null;
  truncated: number | null;
  token_jti: string;
  session_id: string;
}

describe("audit rows for tool calls", () => {
  it("writes exactly one completed row per call with outcome, rows and redacted parameters, and never the token", async () => {
    const token = await devToken(e2e, { user: "wes@example.com" });
    const jti = jwtPayload(token).jti as string;
    const client = await connectClient(e2e.mcpUrl, token);
    await client.callTool({ name: "pipeline_coverage", arguments: { quarter: "2026-Q2" } });
    await client.callTool({ name: "my_opportunities", arguments: { stage: "proposal" } });
    await client.callTool({ name: "my_opportunities", arguments: { owner_email: "x@example.com" } });
    await client.close();

    // Completion is written after the response (waitUntil); poll briefly instead of sleeping a fixed time.
    let rows: AuditRow[] = [];
    for (let i = 0; i < 10; i++) {
      rows = await queryD1<AuditRow>(e2e.stateDir, `SELECT * FROM audit_events WHERE token_jti = '${jti.replace(/[^a-f0-9]/g, "")}' ORDER BY seq`);
      if (rows.length === 3 && rows.every((r) => r.outcome !== "started")) break;
    }
    expect(rows.map((r) => [r.tool, r.outcome])).toEqual([
      ["pipeline_coverage", "ok"],
      ["my_opportunities", "ok"],
      ["my_opportunities", "invalid_arguments"],
    ]);
    const [coverage, mine, injected] = rows as [AuditRow, AuditRow, AuditRow];
    expect(coverage).toMatchObject({ event: "tool.call", principal: "user:wes@example.com", db_role: "reporting", rows: 8, truncated: 0 });
    expect(JSON.parse(coverage.params!)).toEqual({ quarter: "2026-Q2" });
    expect(JSON.parse(mine.params!)).toEqual({ stage: "proposal" });
    expect(injected.rule).toBe("input_schema");
    expect(coverage.sql_hash).toMatch(/^[0-9a-f]{64}$/);
    const dump = JSON.stringify(await queryD1(e2e.stateDir, "SELECT * FROM audit_events"));
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.split(".")[2]);
    expect(dump).not.toContain(e2e.pg.rolePasswords.reporting);
  });

  it("records refused tokens", async () => {
    const before = await queryD1<{ n: number }>(e2e.stateDir, "SELECT count(*) AS n FROM audit_events WHERE event = 'mcp.request' AND rule = 'token:missing'");
    await fetch(e2e.mcpUrl, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" }, body: "{}" });
    let after = before;
    for (let i = 0; i < 10 && after[0]!.n === before[0]!.n; i++)
      after = await queryD1<{ n: number }>(e2e.stateDir, "SELECT count(*) AS n FROM audit_events WHERE event = 'mcp.request' AND rule = 'token:missing'");
    expect(after[0]!.n).toBe(before[0]!.n + 1);
  });
});
