import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { validatePolicy } from "../../src/policy/validate";
import { compilePolicy } from "../../src/policy/compile";
import { applyCompiledPolicy } from "../../src/policy/store-d1";
import { devToken, expectNoSecrets, get, postJson, readJson, type Json } from "./oauth-helpers";

/**
 * First-run bootstrap (POST /admin/api/bootstrap): the one-time BOOTSTRAP_TOKEN secret (vitest.config.ts binds it)
 * applies the first policy while no workspace has one, validated exactly like an admin's apply, audited, and refused
 * ever after. This file's D1 starts without any policy (setup.ts applied the demo's; beforeAll removes it).
 */
const TOKEN = env.BOOTSTRAP_TOKEN;
const demo = parse(demoPolicy) as Json;

/** POSTs `body` with `token` as the bearer (null: no Authorization header). */
function bootstrap(body: unknown, token: string | null = TOKEN): Promise<Response> {
  return postJson("/admin/api/bootstrap", body, token === null ? {} : { Authorization: `Bearer ${token}` });
}

const policyCount = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM policy_versions").first<{ n: number }>())?.n ?? -1;
const auditRows = async (event: string) =>
  (await env.DB.prepare("SELECT event, outcome, rule, principal, workspace, detail FROM audit_events WHERE event = ? ORDER BY seq").bind(event).all<Record<string, string | null>>()).results;

async function clearPolicies(): Promise<void> {
  await env.DB.batch(["policy_versions", "tools", "grants", "group_members", "principals"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
}

beforeAll(async () => {
  expect(TOKEN.length).toBeGreaterThanOrEqual(32);
  await clearPolicies();
});

describe("POST /admin/api/bootstrap", () => {
  it("refuses a missing or wrong token with 401, applies nothing, and audits the refusal without the token", async () => {
    for (const token of [null, "", "wrong-token-wrong-token-wrong-token", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const res = await bootstrap(demo, token);
      const { status, body, text } = await readJson(res);
      expect({ status, error: body.error }).toEqual({ status: 401, error: "invalid_token" });
      expectNoSecrets(text, [TOKEN, token ?? undefined]);
    }
    expect(await policyCount()).toBe(0);
    const refusals = await auditRows("policy.bootstrap");
    expect(refusals.length).toBe(5);
    expect(refusals.every((r) => r.outcome === "denied" && r.rule === "bad_token")).toBe(true);
    expect(JSON.stringify(refusals)).not.toContain(TOKEN);
  });

  it("validates exactly as an admin's apply: a bad document, an unbound credential and a policy without admins change nothing", async () => {
    const typo = await readJson(await bootstrap({ ...demo, workspac: "demo" }));
    expect(typo.status).toBe(400);
    expect(typo.body.error).toBe("invalid_policy");
    const roles = demo.database_roles as Record<string, Json>;
    const unbound = await readJson(await bootstrap({ ...demo, database_roles: { ...roles, reporting: { ...roles.reporting, secret: "DB_URL_ELSEWHERE" } } }));
    expect(unbound.status).toBe(400);
    expect(JSON.stringify(unbound.body.errors)).toContain("DATABASE_CREDENTIALS");
    const users = (demo.users as Json[]).map((u) => ({ ...u, groups: (u.groups as string[]).filter((g) => g !== "admins") }));
    const noAdmin = await readJson(await bootstrap({ ...demo, users }));
    expect(noAdmin.status).toBe(400);
    expect(JSON.stringify(noAdmin.body.errors)).toContain("admins");
    expect(await policyCount()).toBe(0);
  });

  it("is refused (409) while any workspace, even another one, has a policy", async () => {
    const other = validatePolicy({ ...demo, workspace: "elsewhere" });
    if (!other.ok) throw new Error(JSON.stringify(other.errors));
    await applyCompiledPolicy(env.DB, await compilePolicy(other.policy), JSON.stringify(other.policy), "test", new Date());
    const { status, body } = await readJson(await bootstrap(demo));
    expect({ status, error: body.error }).toEqual({ status: 409, error: "bootstrap_closed" });
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM policy_versions WHERE workspace_id = 'demo'").first("n")).toBe(0);
    expect((await auditRows("policy.bootstrap")).at(-1)).toMatchObject({ outcome: "denied", rule: "closed" });
    await clearPolicies();
  });

  it("with the right token and no policy anywhere: applies version 1, audited as the bootstrap; the policy's admin can then use the admin API", async () => {
    const res = await bootstrap(demo);
    const { status, body, text } = await readJson(res);
    expect(status, text).toBe(200);
    expect(body).toMatchObject({ workspace: "demo", version: 1 });
    expectNoSecrets(text, [TOKEN]);
    const row = await env.DB.prepare("SELECT version, applied_by FROM policy_versions WHERE workspace_id = 'demo'").first();
    expect(row).toEqual({ version: 1, applied_by: "bootstrap" });
    expect(await auditRows("policy.applied")).toEqual([expect.objectContaining({ outcome: "ok", rule: "bootstrap", principal: "bootstrap", workspace: "demo" })]);
    const admin = await devToken({ user: "admin@example.com", scope: "gatehouse:admin" });
    const shown = await readJson(await get("/admin/api/policy", { Authorization: `Bearer ${admin}` }));
    expect(shown.status).toBe(200);
    expect(shown.body.applied_by).toBe("bootstrap");
  });

  it("is useless afterwards: the same token is refused with 409 and changes nothing, even if every policy row disappeared", async () => {
    const again = await readJson(await bootstrap({ ...demo, users: [...(demo.users as Json[]), { email: "mallory@example.com", groups: ["admins"] }] }));
    expect({ status: again.status, error: again.body.error }).toEqual({ status: 409, error: "bootstrap_closed" });
    expect(await policyCount()).toBe(1);
    // The bootstrap is spent for good, not merely hidden behind existing rows.
    await clearPolicies();
    const afterWipe = await readJson(await bootstrap(demo));
    expect(afterWipe.status).toBe(409);
    expect(await policyCount()).toBe(0);
  });
});
