import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { validatePolicy } from "../../src/policy/validate";
import { compilePolicy } from "../../src/policy/compile";
import { applyCompiledPolicy } from "../../src/policy/store-d1";
import { tokenFor } from "./tokens";
import { postForm, refresh, registerClient, session } from "./oauth-helpers";

// Workspace "tenant-b" next to the demo. ops@example.com is one of its admins and is listed in OPERATORS
// (vitest.config.ts), so it reads the deployment's rows; b-admin@example.com is an ordinary workspace admin.

type Row = Record<string, unknown>;

beforeAll(async () => {
  const checked = validatePolicy({
    version: 1,
    workspace: "tenant-b",
    database_roles: {},
    groups: { admins: {} },
    users: [
      { email: "b-admin@example.com", groups: ["admins"] },
      { email: "ops@example.com", groups: ["admins"] },
    ],
    tools: {},
    grants: [],
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  await applyCompiledPolicy(env.DB, await compilePolicy(checked.policy), JSON.stringify(checked.policy), "test", new Date());
});

async function auditAs(email: string, workspace: string, query: string, path = "/admin/api/audit"): Promise<Row[]> {
  const token = await tokenFor(email, "gatehouse:admin", { ws: workspace });
  const res = await SELF.fetch(`http://127.0.0.1:8787${path}?${query}`, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return path.endsWith("/export")
    ? text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Row)
    : (JSON.parse(text) as { rows: Row[] }).rows;
}

describe("who reads which audit rows", () => {
  it("keeps rows of no workspace (registrations, refused tokens) from every workspace admin, and shows them to operators", async () => {
    const clientId = await registerClient();
    const junk = await postForm("/token", { grant_type: "client_credentials", client_id: "no-such-client", client_secret: "x" });
    expect(junk.status).toBe(401);
    const registered = `event=client.registered&client=${clientId}`;

    expect(await auditAs("b-admin@example.com", "tenant-b", registered)).toEqual([]);
    expect(await auditAs("admin@example.com", "demo", registered)).toEqual([]);
    expect(await auditAs("b-admin@example.com", "tenant-b", "event=token.refused")).toEqual([]);
    const exported = await auditAs("b-admin@example.com", "tenant-b", "format=jsonl", "/admin/api/audit/export");
    expect(exported.every((r) => r.workspace === "tenant-b")).toBe(true);

    const seen = await auditAs("ops@example.com", "tenant-b", registered);
    expect(seen.map((r) => [r.event, r.workspace])).toEqual([["client.registered", null]]);
    const unattributed = await auditAs("ops@example.com", "tenant-b", "event=token.refused&workspace=");
    expect(unattributed.length).toBeGreaterThan(0);
    expect(unattributed.every((r) => r.workspace === null)).toBe(true);
  });

  it("gives a refused refresh of a known session its workspace: the demo admin reads it, workspace B's admin does not", async () => {
    const s = await session({ email: "wes@example.com" });
    const widened = await refresh(s.clientId, s.tokens.refresh_token, { scope: "db:read db:sql db:write gatehouse:admin" });
    expect(widened.status).toBe(400);
    const query = `event=token.refused&client=${s.clientId}`;
    const demo = await auditAs("admin@example.com", "demo", query);
    expect(demo.map((r) => [r.rule, r.workspace])).toEqual([["scope_widening", "demo"]]);
    expect(await auditAs("b-admin@example.com", "tenant-b", query)).toEqual([]);
  });

  it("lets an operator read another workspace's rows, filtered by workspace", async () => {
    const s = await session({ email: "dana@example.com" });
    const query = `event=token.issued&client=${s.clientId}`;
    expect((await auditAs("ops@example.com", "tenant-b", `${query}&workspace=demo`)).map((r) => r.workspace)).toEqual(["demo"]);
    expect(await auditAs("b-admin@example.com", "tenant-b", query)).toEqual([]);
  });
});
