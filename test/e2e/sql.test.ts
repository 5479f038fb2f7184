import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { connectClient, devToken } from "../support/mcp-client";
import { jwtPayload, queryD1 } from "../support/d1";
import { SQL_CORPUS } from "../support/sql-corpus";

const e2e = inject("e2e");

type CallResult = { isError?: boolean; content: Array<{ text?: string }>; structuredContent?: { rows: unknown[][]; row_count: number; truncated: boolean; columns: Array<{ name: string }> } };
const text = (r: CallResult) => r.content.map((c) => c.text ?? "").join("\n");

let dana: Client;
let tester: Client;
let danaToken: string;
beforeAll(async () => {
  danaToken = await devToken(e2e, { user: "dana@example.com" });
  dana = await connectClient(e2e.mcpUrl, danaToken);
  tester = await connectClient(e2e.mcpUrl, await devToken(e2e, { user: "tester@example.com", workspace: "e2e" }));
});
afterAll(async () => {
  await dana.close();
  await tester.close();
});

describe("execute_sql and describe_data for the data engineer", () => {
  it("lists execute_sql with its describe_data companion, on a 10-minute sql-tier token", async () => {
    expect(jwtPayload(danaToken)).toMatchObject({ scope: "db:read db:sql" });
    expect((jwtPayload(danaToken).exp as number) - (jwtPayload(danaToken).iat as number)).toBe(600);
    const { tools } = await dana.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["describe_data", "execute_sql", "pipeline_coverage", "revenue_summary"]);
    const sql = tools.find((t) => t.name === "execute_sql")!;
    expect(sql.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(Object.keys(sql.inputSchema.properties ?? {})).toEqual(["sql"]);
  });

  it("describe_data lists exactly the allowed relations and their columns, and nothing else", async () => {
    const r = (await dana.callTool({ name: "describe_data", arguments: {} })) as CallResult;
    expect(r.isError).toBeFalsy();
    const relations = new Set(r.structuredContent!.rows.map((row) => row[0]));
    expect([...relations].sort()).toEqual(["reporting.opportunities", "reporting.pipeline_coverage", "reporting.revenue_summary", "sales.accounts", "sales.invoices", "sales.opportunities"]);
    expect(r.structuredContent!.rows.map((row) => row.slice(0, 3))).toContainEqual(["sales.opportunities", "owner_email", "text"]);
    expect(JSON.stringify(r.structuredContent)).not.toMatch(/contacts|api_tokens/);
  });

  it("runs an analytic query and audits the submitted SQL", async () => {
    const sql =
      "WITH won AS (SELECT owner_email, sum(amount) AS total FROM sales.opportunities WHERE stage = 'closed_won' GROUP BY 1) SELECT owner_email, total, rank() OVER (ORDER BY total DESC) FROM won ORDER BY 3, 1";
    const r = (await dana.callTool({ name: "execute_sql", arguments: { sql } })) as CallResult;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent!.row_count).toBe(8);
    let rows: Array<{ outcome: string; sql_text: string }> = [];
    for (let i = 0; i < 10 && rows[0]?.outcome !== "ok"; i++) {
      rows = await queryD1(
        e2e.stateDir,
        `SELECT outcome, sql_text FROM audit_events WHERE token_jti = '${String(jwtPayload(danaToken).jti).replace(/[^a-f0-9]/g, "")}' AND tool = 'execute_sql' ORDER BY seq DESC LIMIT 1`,
      );
    }
    expect(rows[0]).toEqual({ outcome: "ok", sql_text: sql });
  });

  it("refuses a write before it reaches the database, naming the rule", async () => {
    const r = (await dana.callTool({ name: "execute_sql", arguments: { sql: "WITH x AS (UPDATE sales.opportunities SET stage = 'closed_won' RETURNING 1) SELECT * FROM x" } })) as CallResult;
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^Refused by the SQL guard \(data_modifying_cte: .*\)\. Nothing was run\.$/);
  });
});

describe("the hostile-SQL corpus through /mcp → guard → Neon endpoint → Postgres (sql-tier role)", () => {
  const byExpectation = (e: string) => SQL_CORPUS.filter((c) => c.expect === e);

  it.each(byExpectation("refused").map((c) => [c.name, c] as const))("refuses: %s", async (_n, c) => {
    const r = (await tester.callTool({ name: "corpus_sql", arguments: { sql: c.sql } })) as CallResult;
    expect(r.isError).toBe(true);
    // Statements over the input schema's 20,000 characters stop even earlier, at argument validation.
    if (c.sql.length > 20000) expect(text(r)).toMatch(/^Invalid arguments for corpus_sql/);
    else expect(text(r)).toContain(`(${c.rule}: `);
  });

  it.each(byExpectation("allowed").map((c) => [c.name, c] as const))("allows: %s", async (_n, c) => {
    const r = (await tester.callTool({ name: "corpus_sql", arguments: { sql: c.sql } })) as CallResult;
    expect(text(r)).not.toMatch(/Refused by the SQL guard/);
    expect(r.isError, text(r)).toBeFalsy();
    expect(r.structuredContent!.columns.length).toBeGreaterThan(0);
  });

  it.each(byExpectation("allowed_bounded").map((c) => [c.name, c] as const))("bounds by a limit: %s", async (_n, c) => {
    const r = (await tester.callTool({ name: "corpus_sql", arguments: { sql: c.sql } })) as CallResult;
    expect(text(r)).not.toMatch(/Refused by the SQL guard/);
    if (c.bound === "timeout") expect(text(r)).toMatch(/time limit of 1000 ms/);
    else if (r.isError) expect(text(r)).toMatch(/too large|resources/);
    else expect(r.structuredContent!.truncated).toBe(true);
  });
});
