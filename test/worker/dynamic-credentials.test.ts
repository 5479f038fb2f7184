import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { app } from "../../src/app";
import { checkedGate, d1Ports } from "../../src/tools/ports-d1";
import type { ToolDefinition } from "../../src/policy/types";
import { claimsFor, mcpRequest, tokenFor } from "./tokens";

// wrangler.toml binds DB_URL_DIAGNOSTIC (the demo's sql tier) in dynamic mode. Here the Worker runs without the
// DYNAMIC_ROLE_KEY secret (the pool sets one; this env drops it): the dynamic binding must be unusable, refused at
// apply time and at call time, while the static bindings keep working.
const keyless = { ...env, DYNAMIC_ROLE_KEY: "" };

async function fetchKeyless(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(request, keyless, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("a dynamic credential without DYNAMIC_ROLE_KEY", () => {
  it("refuses a policy that names it, with the reason at its path; the other credentials are accepted", async () => {
    const token = await tokenFor("admin@example.com", "gatehouse:admin");
    const res = await fetchKeyless(
      new Request("http://127.0.0.1:8787/admin/api/policy/validate", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify(parse(demoPolicy)),
      }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: unknown[] }).errors).toEqual([
      { path: "$.database_roles.diagnostic.secret", message: expect.stringContaining("DB_URL_DIAGNOSTIC is a dynamic credential, but the Worker secret DYNAMIC_ROLE_KEY is not set") },
    ]);
  });

  it("refuses a call on it before any database call, and audits why; a static tool still runs its checks as before", async () => {
    const token = await tokenFor("dana@example.com", "db:read db:sql");
    const call = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "execute_sql", arguments: { sql: "SELECT 1" } } };
    const res = await fetchKeyless(mcpRequest(call, { token }));
    const body = (await res.json()) as { result: { isError: boolean; content: Array<{ text: string }> } };
    expect(body.result).toMatchObject({ isError: true, content: [{ text: "execute_sql is not available: its database credential is not configured." }] });
    const row = await env.DB.prepare(
      "SELECT outcome, rule, detail, db_login FROM audit_events WHERE event = 'tool.call' AND tool = 'execute_sql' AND principal = 'user:dana@example.com' ORDER BY seq DESC LIMIT 1",
    ).first();
    expect(row).toEqual({
      outcome: "error",
      rule: "credential_not_bound",
      detail: "DB_URL_DIAGNOSTIC is a dynamic credential, but the Worker secret DYNAMIC_ROLE_KEY is not set; it is unusable until it is",
      db_login: null,
    });
  });
});

describe("the database port of a dynamic credential without a usable key", () => {
  it("fails closed as a login failure and never uses the secret (the broker's own login) as the connection", async () => {
    // bindingProblem refuses such a call before its intent; the port must not run the statement as the broker
    // even if it were reached. Before, it ran the statement on the secret as it is: an `unreachable` outcome here,
    // since DB_URL_DIAGNOSTIC points at a closed port.
    const claims = claimsFor("dana@example.com", "db:read db:sql");
    const caller = { claims, principal: { id: claims.sub, kind: "user" as const, email: "dana@example.com", groups: [], workspace: "demo" } };
    const ports = d1Ports({ env: keyless, request: { requestId: "r" }, waitUntil: () => undefined, neonLocalEndpoint: undefined, caller, gate: checkedGate(env.DB, { requestId: "r" }) });
    const tool = { name: "execute_sql", kind: "sql", tier: "sql", secret: "DB_URL_DIAGNOSTIC", limits: { timeoutMs: 1000 } } as unknown as ToolDefinition;
    expect(await ports.db.login(tool)).toBeUndefined();
    expect(await ports.db.execute(tool, { text: "SELECT 1", params: [] })).toEqual({ ok: false, kind: "login_failed", dbMs: 0 });
  });
});
