import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type pg from "pg";
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import { TestOAuthProvider } from "../support/oauth-browser";
import { devToken } from "../support/mcp-client";
import { queryD1 } from "../support/d1";
import { devPost } from "../../local/stack";
import { demoQuery } from "../support/demo-db";
import { fetchFromIp } from "../support/client-ip";

/**
 * The same paths as the 2025-era suites, spoken by the official v2 client on MCP 2026-07-28: OAuth sign-in,
 * tools/list, a read call, guarded SQL, the approval flow and their audit rows; plus a raw request with the
 * standard headers. The 1.x client elsewhere in the e2e suite stays the legacy client.
 */
const e2e = inject("e2e");
const MODERN = "2026-07-28";

type CallResult = { isError?: boolean; content: Array<{ type: string; text?: string }>; structuredContent?: { rows: unknown[][]; row_count?: number; approval?: { id: string } } };
const text = (r: CallResult) => r.content.map((c) => c.text ?? "").join("\n");

async function modernClient(token: string, mode: "pin" | "auto" = "pin"): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(e2e.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: "gatehouse-e2e-v2", version: "1.0.0" }, { versionNegotiation: { mode: mode === "pin" ? { pin: MODERN } : "auto" } });
  await client.connect(transport);
  return client;
}

const pgQuery = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => demoQuery<T>(e2e.pg.superuserUrl, sql, params);

afterEach(async () => void (await devPost(e2e, "/dev/clock", { offset_seconds: 0 })));

describe("the v2 client on MCP 2026-07-28", () => {
  let alice: Client;
  beforeAll(async () => {
    alice = await modernClient(await devToken(e2e, { user: "alice@example.com" }));
  });
  afterAll(async () => alice?.close());

  it("negotiates the modern era (pinned, and in auto mode through server/discover)", async () => {
    expect(alice.getProtocolEra()).toBe("modern");
    expect(alice.getNegotiatedProtocolVersion()).toBe(MODERN);
    const auto = await modernClient(await devToken(e2e, { user: "alice@example.com" }), "auto");
    expect(auto.getProtocolEra()).toBe("modern");
    await auto.close();
  });

  it("lists exactly the caller's tools and runs a read tool, audited with its outcome", async () => {
    expect((await alice.listTools()).tools.map((t) => t.name).sort()).toEqual(["pipeline_coverage", "revenue_summary"]);
    const r = (await alice.callTool({ name: "revenue_summary", arguments: { region: "EMEA" } })) as unknown as CallResult;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent!.rows.length).toBe(4);
    const rows = await queryD1<{ outcome: string; rows: number }>(
      e2e.stateDir,
      "SELECT outcome, rows FROM audit_events WHERE event = 'tool.call' AND tool = 'revenue_summary' AND principal = 'user:alice@example.com' ORDER BY seq DESC LIMIT 1",
    );
    expect(rows[0]).toMatchObject({ outcome: "ok", rows: 4 });
  });

  it("runs Dana's guarded execute_sql and refuses a hostile statement before the database", async () => {
    const dana = await modernClient(await devToken(e2e, { user: "dana@example.com", scope: "db:read db:sql" }));
    try {
      const ok = (await dana.callTool({
        name: "execute_sql",
        arguments: { sql: "SELECT region, count(*) AS n FROM reporting.revenue_summary GROUP BY region ORDER BY region" },
      })) as unknown as CallResult;
      expect(ok.isError).toBeFalsy();
      expect(ok.structuredContent!.rows.length).toBe(4);
      const bad = (await dana.callTool({ name: "execute_sql", arguments: { sql: "SELECT * FROM secrets.api_tokens" } })) as unknown as CallResult;
      expect(bad.isError).toBe(true);
      const row = await queryD1<{ outcome: string }>(
        e2e.stateDir,
        "SELECT outcome FROM audit_events WHERE event = 'tool.call' AND tool = 'execute_sql' AND sql_text LIKE '%secrets.api_tokens%' ORDER BY seq DESC LIMIT 1",
      );
      expect(row[0]!.outcome).toBe("blocked");
    } finally {
      await dana.close();
    }
  });

  it("holds Wes's write for Maria, then runs it exactly once on the same call", async () => {
    // An opportunity of Wes's that no other suite moves (approvals.test.ts uses these ids; the console suite the highest).
    const taken = [5, 7, 8, 16, 22, 23, 48, 112, 136, 152];
    const [opp] = await pgQuery<{ id: number; stage: string }>(
      "SELECT id, stage FROM sales.opportunities WHERE owner_email = 'wes@example.com' AND NOT (id = ANY($1::int[])) AND stage NOT IN ('closed_won', 'closed_lost') ORDER BY id LIMIT 1",
      [taken],
    );
    const target = opp!.stage === "qualification" ? "proposal" : "qualification";
    const wes = await modernClient(await devToken(e2e, { user: "wes@example.com" }));
    try {
      const args = { opportunity_id: opp!.id, stage: target };
      const first = (await wes.callTool({ name: "update_opportunity_stage", arguments: args })) as unknown as CallResult;
      const id = first.structuredContent!.approval!.id;
      expect(text(first)).toContain(`Approval requested: request ${id}`);
      const maria = await devToken(e2e, { user: "maria@example.com", scope: "gatehouse:approve" });
      const decided = await fetch(`${e2e.workerUrl}/admin/api/approvals/${id}/approve`, {
        method: "POST",
        headers: { Authorization: `Bearer ${maria}`, "Content-Type": "application/json" },
        body: JSON.stringify({ reason: "modern era" }),
      });
      expect(decided.status).toBe(200);
      const results = (await Promise.all(Array.from({ length: 3 }, () => wes.callTool({ name: "update_opportunity_stage", arguments: args })))) as unknown as CallResult[];
      expect(results.filter((r) => !r.isError && r.structuredContent?.row_count === 1)).toHaveLength(1);
      expect((await pgQuery<{ stage: string }>("SELECT stage FROM sales.opportunities WHERE id = $1", [opp!.id]))[0]!.stage).toBe(target);
      const executed = await queryD1<{ n: number }>(e2e.stateDir, `SELECT COUNT(*) AS n FROM audit_events WHERE approval_id = '${id}' AND event = 'tool.call' AND outcome = 'ok'`);
      expect(executed[0]!.n).toBe(1);
    } finally {
      await wes.close();
    }
  });

  it("signs in with the v2 client's OAuth flow (discovery, registration, dev login, consent, token) and lists tools", async () => {
    const provider = new TestOAuthProvider({ email: "alice@example.com" }, "http://127.0.0.1:33420/callback");
    const first = new StreamableHTTPClientTransport(new URL(e2e.mcpUrl), { authProvider: provider, fetch: fetchFromIp(provider.ip) });
    const options = { versionNegotiation: { mode: { pin: MODERN } } } as const;
    await expect(new Client({ name: "e2e-v2", version: "1" }, options).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.lastCode).toBeDefined();
    // The v2 client checks RFC 9207's `iss` on the callback before redeeming the code (Gatehouse sends it).
    await first.finishAuth(provider.lastRedirect!.searchParams);
    const client = new Client({ name: "e2e-v2", version: "1" }, options);
    await client.connect(new StreamableHTTPClientTransport(new URL(e2e.mcpUrl), { authProvider: provider, fetch: fetchFromIp(provider.ip) }));
    try {
      expect(client.getProtocolEra()).toBe("modern");
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["pipeline_coverage", "revenue_summary"]);
      expect(provider.saved?.scope).toBe("db:read");
    } finally {
      await client.close();
    }
  });
});

describe("raw 2026-07-28 requests", () => {
  const envelope = { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientInfo": { name: "curl", version: "1" }, "io.modelcontextprotocol/clientCapabilities": {} };
  const post = (token: string, method: string, params: Record<string, unknown>, headers: Record<string, string>) =>
    fetch(e2e.mcpUrl, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": method,
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: { ...params, _meta: envelope } }),
    });

  it("lists and calls with correct headers; the same call with a mismatched Mcp-Name is refused with 400 and audited; the trace id reaches the audit row", async () => {
    const token = await devToken(e2e, { user: "alice@example.com" });
    const list = await post(token, "tools/list", {}, {});
    expect(list.status).toBe(200);
    expect(((await list.json()) as { result: { tools: unknown[] } }).result.tools).toHaveLength(2);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const call = await post(
      token,
      "tools/call",
      { name: "pipeline_coverage", arguments: { quarter: "2026-Q1" } },
      { "Mcp-Name": "pipeline_coverage", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    expect(call.status).toBe(200);
    const result = ((await call.json()) as { result: CallResult }).result;
    expect(result.isError).toBeFalsy();
    const traced = await queryD1<{ outcome: string; trace_id: string | null }>(
      e2e.stateDir,
      `SELECT outcome, trace_id FROM audit_events WHERE event = 'tool.call' AND tool = 'pipeline_coverage' AND trace_id = '${traceId}'`,
    );
    expect(traced).toHaveLength(1);
    expect(traced[0]!.outcome).toBe("ok");
    const bad = await post(token, "tools/call", { name: "pipeline_coverage", arguments: {} }, { "Mcp-Name": "revenue_summary" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(-32020);
    const audited = await queryD1<{ n: number }>(
      e2e.stateDir,
      "SELECT COUNT(*) AS n FROM audit_events WHERE event = 'mcp.request' AND rule = 'protocol:name-header-mismatch' AND principal = 'user:alice@example.com'",
    );
    expect(audited[0]!.n).toBeGreaterThanOrEqual(1);
  });
});
