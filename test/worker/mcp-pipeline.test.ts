import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { validatePolicy } from "../../src/policy/validate";
import { compilePolicy } from "../../src/policy/compile";
import { applyCompiledPolicy } from "../../src/policy/store-d1";
import { mcpRequest, tokenFor } from "./tokens";

// The demo's execute_sql runs on DB_URL_DIAGNOSTIC, which the worker pool binds to an unreachable address: a call
// goes through the whole pipeline (intent, execution, completion) and ends as `unreachable`, without Postgres.

async function callSql(token: string): Promise<Response> {
  return SELF.fetch(mcpRequest({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "execute_sql", arguments: { sql: "SELECT 1 AS one" } } }, { token }));
}

async function rowsOf(jti: string): Promise<Array<{ event: string; outcome: string; rule: string | null; tool: string | null; client_name: string | null }>> {
  const { results } = await env.DB.prepare("SELECT event, outcome, rule, tool, client_name FROM audit_events WHERE token_jti = ? ORDER BY seq")
    .bind(jti)
    .all<{ event: string; outcome: string; rule: string | null; tool: string | null; client_name: string | null }>();
  return results;
}

describe("the tools/call pipeline in workerd", () => {
  it("refuses with 401 a session revoked after the isolate last read the caller, in the intent's own round trip, and marks that intent", async () => {
    const sid = `s-pipeline-${crypto.randomUUID()}`;
    const jti = crypto.randomUUID();
    const token = await tokenFor("dana@example.com", "db:read db:sql", { sid, jti });
    // The first call loads the policy snapshot into this isolate; the next is decided on it before any read.
    expect((await callSql(token)).status).toBe(200);
    await env.DB.prepare("INSERT INTO revocations (workspace_id, kind, value, revoked_at, revoked_by, reason) VALUES ('demo', 'session', ?, ?, 'test', 'test')")
      .bind(sid, Math.floor(Date.now() / 1000))
      .run();
    const refused = await callSql(token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    // One row for the refused call: its intent, marked with the reason (completion runs after the response).
    let rows = await rowsOf(jti);
    for (let i = 0; i < 50 && rows.some((r) => r.outcome === "started"); i++) {
      await new Promise((r) => setTimeout(r, 20));
      rows = await rowsOf(jti);
    }
    expect(rows.map((r) => [r.event, r.tool, r.outcome, r.rule])).toEqual([
      ["tool.call", "execute_sql", "error", "unreachable"],
      ["tool.call", "execute_sql", "denied", "token:revoked:session"],
    ]);
  });

  it("decides again on the new policy version when the policy changed since the isolate's snapshot, and records why the first decision did not run", async () => {
    const jti = crypto.randomUUID();
    const token = await tokenFor("dana@example.com", "db:read db:sql", { jti });
    expect((await callSql(token)).status).toBe(200);
    const checked = validatePolicy(parse(demoPolicy));
    if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
    await applyCompiledPolicy(env.DB, await compilePolicy(checked.policy), JSON.stringify(checked.policy), "test", new Date());
    const again = await callSql(token);
    expect(again.status).toBe(200);
    const body = (await again.json()) as { result?: { content: Array<{ text: string }> } };
    expect(body.result?.content[0]?.text).toBe("The database could not be reached. Try again later.");
    let rows = await rowsOf(jti);
    for (let i = 0; i < 50 && (rows.length < 3 || rows.some((r) => r.outcome === "started")); i++) {
      await new Promise((r) => setTimeout(r, 20));
      rows = await rowsOf(jti);
    }
    expect(rows.map((r) => [r.outcome, r.rule])).toEqual([
      ["error", "unreachable"],
      ["denied", "policy_changed"],
      ["error", "unreachable"],
    ]);
  });

  it("names the registered client in an intent written before the caller state was read", async () => {
    const clientId = `c-pipeline-${crypto.randomUUID()}`;
    await env.DB.prepare("INSERT INTO oauth_clients (client_id, kind, client_name, redirect_uris, created_at) VALUES (?, 'public', 'Pipeline Client', '[]', ?)")
      .bind(clientId, Math.floor(Date.now() / 1000))
      .run();
    const jti = crypto.randomUUID();
    const token = await tokenFor("dana@example.com", "db:read db:sql", { jti, client_id: clientId });
    expect((await callSql(token)).status).toBe(200);
    expect((await callSql(token)).status).toBe(200);
    const rows = await rowsOf(jti);
    expect(rows.map((r) => r.client_name)).toEqual(["Pipeline Client", "Pipeline Client"]);
  });
});
