import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { connectClient, devToken } from "../support/mcp-client";

const e2e = inject("e2e");

interface Result {
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  limit: number;
  notice: string | null;
}

type CallResult = { isError?: boolean; content: Array<{ type: string; text?: string }>; structuredContent?: Result };

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallResult> {
  return (await client.callTool({ name, arguments: args })) as CallResult;
}

function text(r: CallResult): string {
  return r.content.map((c) => c.text ?? "").join("\n");
}

/** Runs SQL straight against Postgres as a tier role, values as Postgres text, for comparison with the gateway. */
async function direct(role: "reporting", sql: string, params: unknown[] = []): Promise<string[][]> {
  const client = new pg.Client({ host: "127.0.0.1", port: e2e.pg.port, database: "gatehouse", user: `gatehouse_${role}`, password: e2e.pg.rolePasswords[role] });
  await client.connect();
  try {
    const res = await client.query({ text: sql, values: params, rowMode: "array", types: { getTypeParser: () => (v: string) => v } });
    return res.rows as string[][];
  } finally {
    await client.end();
  }
}

const clients: Client[] = [];
async function clientFor(user: string, workspace?: string): Promise<Client> {
  const c = await connectClient(e2e.mcpUrl, await devToken(e2e, { user, ...(workspace ? { workspace } : {}) }));
  clients.push(c);
  return c;
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

describe("demo read tools over MCP (SDK client → wrangler dev → Neon endpoint → Postgres)", () => {
  let alice: Client;
  let wes: Client;
  beforeAll(async () => {
    alice = await clientFor("alice@example.com");
    wes = await clientFor("wes@example.com");
  });

  it("shows Alice exactly her tools", async () => {
    const { tools } = await alice.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["pipeline_coverage", "revenue_summary"]);
    for (const t of tools) expect(t.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
  });

  it("returns revenue_summary exactly as the same SQL run directly as the read role", async () => {
    const r = await call(alice, "revenue_summary");
    expect(r.isError).toBeFalsy();
    const want = await direct("reporting", "SELECT region, quarter, invoice_count, invoiced, collected, outstanding, won_deals, won_amount FROM reporting.revenue_summary ORDER BY region, quarter");
    expect(want.length).toBe(16);
    const got = r.structuredContent!;
    expect(got.row_count).toBe(16);
    expect(got.truncated).toBe(false);
    expect(got.columns.map((c) => c.name)).toEqual(["region", "quarter", "invoice_count", "invoiced", "collected", "outstanding", "won_deals", "won_amount"]);
    expect(got.rows.map((row) => row.map((v) => (v === null ? null : String(v))))).toEqual(want);
    expect(text(r)).toMatch(/<untrusted-data-[0-9a-f]{16}>/);
  });

  it("binds a filter argument as a parameter", async () => {
    const r = await call(alice, "revenue_summary", { region: "EMEA" });
    const want = await direct("reporting", "SELECT region FROM reporting.revenue_summary WHERE region = $1", ["EMEA"]);
    expect(r.structuredContent!.row_count).toBe(want.length);
    expect(new Set(r.structuredContent!.rows.map((row) => row[0]))).toEqual(new Set(want.length ? ["EMEA"] : []));
    const hostile = await call(alice, "revenue_summary", { region: "EMEA' OR '1'='1" });
    expect(hostile.isError).toBeFalsy();
    expect(hostile.structuredContent!.row_count).toBe(0);
  });

  it("gives Wes only his own opportunities", async () => {
    const r = await call(wes, "my_opportunities");
    expect(r.isError).toBeFalsy();
    const want = await direct("reporting", "SELECT id, account_name, name, stage, amount, close_date FROM reporting.opportunities WHERE owner_email = $1 ORDER BY close_date DESC, id", [
      "wes@example.com",
    ]);
    const all = await direct("reporting", "SELECT count(*) FROM reporting.opportunities");
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(Number(all[0]![0]));
    // Every value, dates included, exactly as Postgres renders it (text format), ids as numbers.
    expect(r.structuredContent!.rows.map((row) => row.map((v) => String(v)))).toEqual(want.slice(0, 50));
    expect(r.structuredContent!.columns.map((c) => c.type)).toEqual(["integer", "text", "text", "text", "numeric", "date"]);
  });

  it("refuses an injected owner argument on my_opportunities without touching the database", async () => {
    const r = await call(wes, "my_opportunities", { owner_email: "olivia@example.com" });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Invalid arguments/);
    expect(r.structuredContent).toBeUndefined();
  });

  it("refuses a schema violation as a tool error", async () => {
    const r = await call(wes, "my_opportunities", { stage: "won; DROP TABLE x" });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Invalid arguments/);
  });

  it("does not let Alice call Wes's tool", async () => {
    await expect(alice.callTool({ name: "my_opportunities", arguments: {} })).rejects.toThrow(/Unknown tool/);
  });
});

describe("limits (test workspace)", () => {
  let tester: Client;
  beforeAll(async () => {
    tester = await clientFor("tester@example.com", "e2e");
  });

  it("cancels a slow query at the tool's timeout with a clear tool error", async () => {
    const started = Date.now();
    const r = await call(tester, "slow_report");
    expect(r.isError).toBe(true);
    expect(text(r)).toContain("time limit of 300 ms");
    expect(Date.now() - started).toBeLessThan(1900);
  });

  it("is not truncated at exactly max_rows", async () => {
    const r = (await call(tester, "numbered", { upto: 10 })).structuredContent!;
    expect(r).toMatchObject({ row_count: 10, truncated: false, limit: 10, notice: null });
  });

  it("is truncated at max_rows + 1 and keeps max_rows rows", async () => {
    const r = (await call(tester, "numbered", { upto: 11 })).structuredContent!;
    expect(r).toMatchObject({ row_count: 10, truncated: true, limit: 10 });
    expect(r.rows.at(-1)).toEqual([10, "row 0010"]);
    expect(r.notice).toMatch(/filter in SQL/);
  });

  it("cuts by the byte cap", async () => {
    const r = (await call(tester, "wide")).structuredContent!;
    expect(r.truncated).toBe(true);
    expect(r.row_count).toBeGreaterThanOrEqual(1);
    expect(r.row_count).toBeLessThan(5);
    expect(JSON.stringify(r.rows).length).toBeLessThanOrEqual(16384);
    expect(r.notice).toContain("16384 bytes");
  });

  it("cuts a single value that is over the byte cap, keeping the row", async () => {
    const r = (await call(tester, "huge_value")).structuredContent!;
    expect(r.row_count).toBe(1);
    expect(r.truncated).toBe(true);
    expect(JSON.stringify(r.rows).length).toBeLessThanOrEqual(2048);
    expect(String(r.rows[0]![1]).endsWith("…")).toBe(true);
    expect(r.notice).toMatch(/value was cut/);
  });

  it("rate-limits per principal and tool with a clear tool error", async () => {
    const results = [];
    for (let i = 0; i < 11; i++) results.push(await call(tester, "throttled"));
    expect(results.slice(0, 10).every((r) => !r.isError)).toBe(true);
    expect(results[10]!.isError).toBe(true);
    expect(text(results[10]!)).toBe("Rate limit reached: throttled allows 10 calls per minute per user. Try again in up to 60 seconds.");
    // Another tool of the same user is not affected.
    expect((await call(tester, "numbered", { upto: 1 })).isError).toBeFalsy();
  });

  it("maps a Postgres permission error to a tool error that leaks nothing", async () => {
    const r = await call(tester, "contacts_probe");
    expect(r.isError).toBe(true);
    expect(text(r)).toBe("The tool's database role is not allowed to read that.");
  });

  it("reports a tool whose credential is not configured without naming it", async () => {
    const r = await call(tester, "orphan");
    expect(r.isError).toBe(true);
    expect(text(r)).not.toContain("DB_URL");
  });
});
