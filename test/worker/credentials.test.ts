import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { validatePolicy } from "../../src/policy/validate";
import { compilePolicy } from "../../src/policy/compile";
import { applyCompiledPolicy } from "../../src/policy/store-d1";
import { mcpRequest, tokenFor } from "./tokens";

// wrangler.toml binds DB_URL_REPORTING (read), DB_URL_DIAGNOSTIC (sql) and DB_URL_WRITER (write) to the demo
// workspace only. Workspace "tenant-b" has its own admin, who must not reach those credentials by writing a policy.

const TENANT = "tenant-b";
const ADMIN = "b-admin@example.com";
const USER = "b-user@example.com";

type Doc = Record<string, any>;

/** Workspace B's policy: a read tool on `role`, which the test points at a secret and tier of its choice. */
function tenantPolicy(role: { tier: string; secret: string }, tool: Doc = {}): Doc {
  const write = role.tier === "write";
  return {
    version: 1,
    workspace: TENANT,
    database_roles: { borrowed: role },
    groups: { admins: {}, staff: {} },
    users: [
      { email: ADMIN, groups: ["admins"] },
      { email: USER, groups: ["staff"] },
    ],
    tools: {
      probe: {
        kind: role.tier,
        title: "Probe",
        description: "Runs on a borrowed credential.",
        database_role: "borrowed",
        ...(role.tier === "sql"
          ? { relations: ["reporting.revenue_summary"] }
          : {
              sql: write ? "UPDATE sales.opportunities SET stage = 'won' WHERE id = $1 RETURNING id" : "SELECT email FROM sales.contacts",
              ...(write ? { parameters: { id: { type: "integer" } }, bind: ["id"] } : {}),
            }),
        limits: { max_rows: 10, timeout_ms: 1000, rate_per_minute: 60, ...(write ? { max_affected_rows: 1000 } : {}) },
        ...tool,
      },
    },
    grants: [{ tools: ["probe"], groups: ["staff"] }],
  };
}

/** Stores a policy in D1 the way a policy applied before the deployment bindings existed was stored. */
async function storeDirectly(doc: Doc): Promise<void> {
  const checked = validatePolicy(doc);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  await applyCompiledPolicy(env.DB, await compilePolicy(checked.policy), JSON.stringify(checked.policy), "before-the-fix", new Date());
}

async function applyAs(email: string, workspace: string, doc: Doc): Promise<{ status: number; body: any }> {
  const token = await tokenFor(email, "gatehouse:admin", { ws: workspace });
  const res = await SELF.fetch("http://127.0.0.1:8787/admin/api/policy", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(doc),
  });
  return { status: res.status, body: await res.json() };
}

describe("database credentials are the deployment's decision (DATABASE_CREDENTIALS)", () => {
  it("refuses workspace B's policy that takes the demo's writer credential as a write tier without approval", async () => {
    await storeDirectly(tenantPolicy({ tier: "read", secret: "DB_URL_REPORTING" }, { sql: "SELECT 1 AS one" }));
    const res = await applyAs(ADMIN, TENANT, tenantPolicy({ tier: "write", secret: "DB_URL_WRITER" }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual({ path: "$.database_roles.borrowed.secret", message: expect.stringContaining(`DB_URL_WRITER is not bound to workspace "${TENANT}"`) });
  });

  it("refuses workspace B's policy that takes the sql-tier credential as a read tier", async () => {
    await storeDirectly(tenantPolicy({ tier: "read", secret: "DB_URL_REPORTING" }, { sql: "SELECT 1 AS one" }));
    const res = await applyAs(ADMIN, TENANT, tenantPolicy({ tier: "read", secret: "DB_URL_DIAGNOSTIC" }));
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(["$.database_roles.borrowed.secret"]);
  });

  it("refuses a bound credential at another tier, even in its own workspace", async () => {
    const demo = parse(demoPolicy) as Doc;
    demo.database_roles.reporting.secret = "DB_URL_DIAGNOSTIC";
    const res = await applyAs("admin@example.com", "demo", demo);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: "$.database_roles.reporting.tier", message: expect.stringContaining("DB_URL_DIAGNOSTIC is bound as the sql tier, not read") }]);
    // The same check on the validate endpoint; the demo policy itself passes.
    const token = await tokenFor("admin@example.com", "gatehouse:admin");
    const validate = (doc: Doc) =>
      SELF.fetch("http://127.0.0.1:8787/admin/api/policy/validate", { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify(doc) });
    expect((await validate(demo)).status).toBe(400);
    expect((await validate(parse(demoPolicy) as Doc)).status).toBe(200);
  });

  it("refuses at call time a tool whose stored policy names an unbound credential, before any database call", async () => {
    await storeDirectly(tenantPolicy({ tier: "read", secret: "DB_URL_DIAGNOSTIC" }));
    const token = await tokenFor(USER, "db:read", { ws: TENANT });
    const call = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "probe", arguments: {} } };
    const res = await SELF.fetch(mcpRequest(call, { token }));
    const body = (await res.json()) as { result: { isError: boolean; content: Array<{ text: string }> } };
    expect(body.result.isError).toBe(true);
    expect(body.result.content[0]!.text).toBe("probe is not available: its database credential is not configured.");
    const row = await env.DB.prepare("SELECT outcome, rule, detail, workspace FROM audit_events WHERE event = 'tool.call' AND tool = 'probe' AND principal = ? ORDER BY seq DESC LIMIT 1")
      .bind(`user:${USER}`)
      .first();
    expect(row).toEqual({ outcome: "error", rule: "credential_not_bound", detail: `DB_URL_DIAGNOSTIC is not bound to workspace "${TENANT}" in DATABASE_CREDENTIALS`, workspace: TENANT });
  });
});
