import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { connectClient, devToken } from "../support/mcp-client";
import { gatehouseCli } from "../support/gatehouse-cli";
import { jwtPayload, queryD1 } from "../support/d1";
import { runWrangler } from "../../local/wrangler";
import { inOneRateWindow } from "../support/rate-window";

const e2e = inject("e2e");

const gatehouse = (...args: string[]) => gatehouseCli(e2e, ...args, "--dev");

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const d1 = (sql: string) => runWrangler(["d1", "execute", "DB", "--local", "--persist-to", join(e2e.stateDir, "wrangler"), "--command", sql]);

async function rowsFor(jti: string, expected: number): Promise<Array<Record<string, unknown>>> {
  let rows: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 15; i++) {
    rows = await queryD1(e2e.stateDir, `SELECT * FROM audit_events WHERE token_jti = ${sqlString(jti)} ORDER BY seq`);
    if (rows.length >= expected && rows.every((r) => r.outcome !== "started")) break;
  }
  return rows;
}

describe("audit log", () => {
  it("writes exactly one row per decision, with the outcome and the rule that decided", async () => {
    const token = await devToken(e2e, { user: "tester@example.com", workspace: "e2e", scope: "db:read db:sql" });
    const client = await connectClient(e2e.mcpUrl, token);
    await client.callTool({ name: "numbered", arguments: { upto: 3 } }); // ok
    await client.callTool({ name: "contacts_probe", arguments: {} }); // error 42501
    await client.callTool({ name: "numbered", arguments: { upto: "three" } }); // invalid_arguments
    await client.callTool({ name: "corpus_sql", arguments: { sql: "SELECT pg_sleep(1)" } }); // blocked
    await expect(client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toThrow(); // denied
    await client.close();
    const rows = await rowsFor(String(jwtPayload(token).jti), 5);
    const calls = rows.filter((r) => r.event === "tool.call").map((r) => [r.tool, r.outcome, r.rule]);
    expect(calls).toEqual([
      ["numbered", "ok", null],
      ["contacts_probe", "error", "permission_denied"],
      ["numbered", "invalid_arguments", "input_schema"],
      ["corpus_sql", "blocked", "guard:function_denied"],
      ["no_such_tool", "denied", "not_granted"],
    ]);
    const ok = rows.find((r) => r.tool === "numbered" && r.outcome === "ok")!;
    expect(ok).toMatchObject({ principal: "user:tester@example.com", principal_kind: "user", workspace: "e2e", db_role: "reporting", rows: 3, truncated: 0, param_count: 1, params: '{"upto":3}' });
    expect(ok.tool_version).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof ok.duration_ms).toBe("number");
    expect(rows.find((r) => r.tool === "contacts_probe")!.sqlstate).toBe("42501");
    expect(rows.find((r) => r.tool === "corpus_sql")!.sql_text).toBe("SELECT pg_sleep(1)");
  });

  it("records a rate-limited call as rate_limited with the limit that decided", async () => {
    await inOneRateWindow(20);
    const token = await devToken(e2e, { user: "tester2@example.com", workspace: "e2e" });
    const client = await connectClient(e2e.mcpUrl, token);
    for (let i = 0; i < 11; i++) await client.callTool({ name: "throttled", arguments: {} });
    await client.close();
    const rows = await rowsFor(String(jwtPayload(token).jti), 11);
    const limited = rows.filter((r) => r.outcome === "rate_limited");
    expect(rows.filter((r) => r.outcome === "ok").length).toBe(10);
    expect(limited.length).toBe(1);
    expect(limited[0]).toMatchObject({ event: "tool.call", tool: "throttled", rule: "rate_per_minute:10" });
    expect(rows.length).toBe(11);
  });

  // The audit store refusing the intent, and 20,000 calls under load, are resilience cases (test/resilience/,
  // docs/reliability.md): they run on their own stack and prove from Postgres that a refused call ran nothing.

  it("exports JSONL and CSV of the admin's own workspace only, and `audit verify` detects an edited row", async () => {
    const csv = await gatehouse("audit", "export", "--format", "csv", "--filter", "event=policy.applied");
    const lines = csv.stdout.trim().split("\r\n");
    expect(lines[0]).toMatch(/^seq,id,time,event,outcome,rule,/);
    expect(lines.length).toBeGreaterThan(1);
    const jsonl = (await gatehouse("audit", "export")).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(jsonl.some((r) => r.workspace === "demo")).toBe(true);
    // The e2e workspace and rows of no workspace (registrations, refused tokens) are for operators only.
    expect(jsonl.every((r) => r.workspace === "demo")).toBe(true);
    // Tamper with a sealed row, verify, then restore it. `audit verify` seals what is complete first.
    expect((await gatehouse("audit", "verify")).code).toBe(0);
    const [victim] = await queryD1<{ seq: number; outcome: string }>(e2e.stateDir, "SELECT seq, outcome FROM audit_events WHERE hash IS NOT NULL AND outcome = 'denied' ORDER BY seq LIMIT 1");
    await d1(`UPDATE audit_events SET outcome = 'ok' WHERE seq = ${victim!.seq}`);
    try {
      const broken = await gatehouse("audit", "verify");
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain(`audit chain BROKEN at seq ${victim!.seq}: edited`);
    } finally {
      await d1(`UPDATE audit_events SET outcome = 'denied' WHERE seq = ${victim!.seq}`);
    }
    expect((await gatehouse("audit", "verify")).code).toBe(0);
    // Nine CLI and `wrangler d1 execute` processes, each several seconds on a loaded 2-core machine.
  }, 180_000);

  it("holds no token, secret, password or signing key anywhere in the audit log", async () => {
    const dump = JSON.stringify(await queryD1(e2e.stateDir, "SELECT * FROM audit_events"));
    const key = JSON.parse(e2e.signingKey) as { d: string };
    for (const secret of [key.d, e2e.pg.rolePasswords.reporting, e2e.pg.rolePasswords.diagnostic, e2e.pg.rolePasswords.writer, e2e.taskClient.clientSecret, e2e.devSecret]) {
      expect(dump).not.toContain(secret);
    }
    expect(dump).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./); // no JWT
    expect(dump).not.toMatch(/gh[rsc]_[A-Za-z0-9_-]{20,}/); // no refresh token, code or client secret
    expect(dump).not.toContain("postgresql://");
  });
});
