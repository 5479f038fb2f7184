import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { mcpStatus, postJson } from "./oauth-helpers";
import { tokenFor } from "./tokens";

// A decision and its audit row commit together (one D1 batch) or not at all: with the audit store refusing every
// insert (a trigger standing in for a full or failing store), an approval, a policy apply and a revocation must
// leave no trace, and the caller gets an error rather than a success nobody can account for.

const REFUSE_AUDIT = "CREATE TRIGGER IF NOT EXISTS audit_store_refuses BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store refuses'); END";

async function refuseAudit(): Promise<void> {
  await env.DB.prepare(REFUSE_AUDIT).run();
}

afterEach(async () => {
  await env.DB.prepare("DROP TRIGGER IF EXISTS audit_store_refuses").run();
});

const as = (token: string) => ({ Authorization: `Bearer ${token}` });

async function pendingApproval(): Promise<string> {
  const id = crypto.randomUUID();
  const now = Math.floor(Date.now() / 1000);
  await env.DB.prepare(
    "INSERT INTO approvals (id, workspace_id, tool, tool_version, args, args_hash, sql_text, approver_group, requester, status, created_at, expires_at) VALUES (?, 'demo', 'update_opportunity_stage', 'v1', '{}', ?, 'UPDATE x', 'approvers', 'user:wes@example.com', 'pending', ?, ?)",
  )
    .bind(id, id, now, now + 1800)
    .run();
  return id;
}

const statusOf = async (id: string) => (await env.DB.prepare("SELECT status FROM approvals WHERE id = ?").bind(id).first<{ status: string }>())?.status;
const headVersion = async () => (await env.DB.prepare("SELECT MAX(version) AS v FROM policy_versions WHERE workspace_id = 'demo'").first<{ v: number }>())?.v;
const auditRows = async (event: string, detail: string) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE event = ? AND detail LIKE ?").bind(event, `%${detail}%`).first<{ n: number }>())?.n;

describe("decisions commit with their audit row or not at all", () => {
  it("an approval is not decided when its audit row cannot be written", async () => {
    const id = await pendingApproval();
    const maria = await tokenFor("maria@example.com", "gatehouse:approve");
    await refuseAudit();
    const refused = await postJson(`/admin/api/approvals/${id}/approve`, {}, as(maria));
    expect(refused.status).toBe(503);
    await refused.body?.cancel();
    expect(await statusOf(id)).toBe("pending");
    await env.DB.prepare("DROP TRIGGER audit_store_refuses").run();
    const ok = await postJson(`/admin/api/approvals/${id}/approve`, {}, as(maria));
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    expect(await statusOf(id)).toBe("approved");
    expect(await auditRows("approval.approved", id)).toBe(1);
  });

  it("a denial that did not take effect writes no success row", async () => {
    const id = await pendingApproval();
    const maria = await tokenFor("maria@example.com", "gatehouse:approve");
    expect((await postJson(`/admin/api/approvals/${id}/deny`, { reason: "no" }, as(maria))).status).toBe(200);
    const again = await postJson(`/admin/api/approvals/${id}/approve`, {}, as(maria));
    expect(again.status).toBe(409);
    await again.body?.cancel();
    expect(await auditRows("approval.denied", id)).toBe(1);
    expect(await auditRows("approval.approved", id)).toBe(0);
  });

  it("a policy apply adds no version when its audit row cannot be written", async () => {
    const admin = await tokenFor("admin@example.com", "gatehouse:admin");
    const doc = parse(demoPolicy) as { tools: Record<string, { description: string }> };
    doc.tools.revenue_summary!.description += " (edited)";
    const before = await headVersion();
    await refuseAudit();
    const refused = await postJson("/admin/api/policy", doc, as(admin));
    expect(refused.status).toBe(503);
    await refused.body?.cancel();
    expect(await headVersion()).toBe(before);
    const tools = await env.DB.prepare("SELECT definition FROM tools WHERE workspace_id = 'demo' AND name = 'revenue_summary'").first<{ definition: string }>();
    expect(tools?.definition).not.toContain("(edited)");
  });

  it("a task client is not created when its audit row cannot be written", async () => {
    const admin = await tokenFor("admin@example.com", "gatehouse:admin");
    const count = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM oauth_clients WHERE kind = 'task' AND created_by = 'user:admin@example.com'").first<{ n: number }>())?.n;
    const before = await count();
    await refuseAudit();
    const refused = await postJson("/admin/api/tasks", { task: "nightly-revenue-report", tools: ["revenue_summary"] }, as(admin));
    expect(refused.status).toBe(503);
    expect(await refused.text()).not.toContain("client_secret");
    expect(await count()).toBe(before);
  });

  it("a revocation does not happen when its audit row cannot be written", async () => {
    const admin = await tokenFor("admin@example.com", "gatehouse:admin");
    const wes = await tokenFor("wes@example.com", "db:read", { sid: `s-atomic-${crypto.randomUUID()}` });
    await refuseAudit();
    const refused = await postJson("/admin/api/revocations", { kind: "user", value: "wes@example.com" }, as(admin));
    expect(refused.status).toBe(503);
    await refused.body?.cancel();
    expect(await env.DB.prepare("SELECT 1 FROM revocations WHERE value = 'user:wes@example.com'").first()).toBeNull();
    await env.DB.prepare("DROP TRIGGER audit_store_refuses").run();
    expect(await mcpStatus(wes)).toBe(200);
  });
});
