import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { validatePolicy } from "../../src/policy/validate";
import { compilePolicy } from "../../src/policy/compile";
import { applyCompiledPolicy } from "../../src/policy/store-d1";
import { basic, get, postForm, postJson, readJson, setClock, toolNames, type Json } from "./oauth-helpers";
import { tokenFor } from "./tokens";
import { claimProposalStatements } from "../../src/admin/proposals-store-d1";

// The two-person rule on the admin API (docs/console.md "Proposals"): a policy apply or task client that widens write
// access is held (202) until a second admin approves it; the proposer never can, whatever client they use; an
// approval applies the stored payload once, and only over the policy version it was computed against.

type Doc = Record<string, any>;
const demo = (): Doc => parse(demoPolicy) as Doc;
const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const admin1 = (overrides: Record<string, string> = {}) => tokenFor("admin@example.com", "gatehouse:admin", overrides);
const admin2 = () => tokenFor("admin2@example.com", "gatehouse:admin");
const head = async () => (await env.DB.prepare("SELECT MAX(version) AS v FROM policy_versions WHERE workspace_id = 'demo'").first<{ v: number }>())!.v;
const audit = (event: string, id: string) =>
  env.DB.prepare("SELECT outcome, rule, principal FROM audit_events WHERE event = ? AND approval_id = ? ORDER BY seq")
    .bind(event, id)
    .all()
    .then((r) => r.results);
const stateOf = async (id: string) => (await env.DB.prepare("SELECT state FROM admin_proposals WHERE id = ?").bind(id).first<{ state: string }>())?.state;

async function apply(doc: Doc, token: string): Promise<{ status: number; body: Json }> {
  const { status, body } = await readJson(await postJson("/admin/api/policy", doc, as(token)));
  return { status, body };
}
async function decide(id: string, decision: "approve" | "deny", token: string, reason?: string): Promise<{ status: number; body: Json }> {
  const { status, body } = await readJson(await postJson(`/admin/api/proposals/${id}/${decision}`, reason ? { reason } : {}, as(token)));
  return { status, body };
}

/** Wes's group's write tool, also granted to sales ops (Alice): a widening of a write tool's grants. */
function grantWriteToSalesOps(): Doc {
  const doc = demo();
  doc.grants.push({ tools: ["update_opportunity_stage"], groups: ["sales-ops"] });
  return doc;
}

describe("two-person rule: policy applies", () => {
  it("applies a change that widens no write access at once", async () => {
    const doc = demo();
    doc.tools.revenue_summary.description += " (edited)";
    const before = await head();
    const res = await apply(doc, await admin1());
    expect(res.status).toBe(200);
    expect(await head()).toBe(before + 1);
  });

  it("holds a write-widening apply until a second admin approves it, then applies it exactly once", async () => {
    const before = await head();
    const proposed = await apply(grantWriteToSalesOps(), await admin1());
    expect(proposed.status).toBe(202);
    const proposal = proposed.body.proposal as Json;
    expect(proposal).toMatchObject({ kind: "policy", state: "pending", proposer: "user:admin@example.com", base_version: before });
    expect(proposal.reasons).toEqual(["grants write tool update_opportunity_stage to group:sales-ops"]);
    expect(await head()).toBe(before);
    const id = proposal.id as string;
    expect(await audit("proposal.created", id)).toEqual([{ outcome: "ok", rule: "policy", principal: "user:admin@example.com" }]);
    const alice = await tokenFor("alice@example.com", "db:read db:write");
    expect(await toolNames(alice)).not.toContain("update_opportunity_stage");

    // The proposer cannot approve it, neither with the same token nor from another client and session.
    expect((await decide(id, "approve", await admin1())).status).toBe(403);
    expect((await decide(id, "approve", await admin1({ client_id: "another-client", sid: "another-session" }))).status).toBe(403);
    expect(await audit("proposal.approve", id)).toEqual([
      { outcome: "denied", rule: "own_proposal", principal: "user:admin@example.com" },
      { outcome: "denied", rule: "own_proposal", principal: "user:admin@example.com" },
    ]);
    expect(await stateOf(id)).toBe("pending");

    // A second admin approves: the stored document is applied, with both rows in the same transaction.
    const listed = await readJson(await get("/admin/api/proposals?status=pending", as(await admin2())));
    expect((listed.body.proposals as Json[]).map((p) => p.id)).toContain(id);
    const approved = await decide(id, "approve", await admin2());
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ state: "applied", decided_by: "user:admin2@example.com" });
    expect(await head()).toBe(before + 1);
    expect(await toolNames(alice)).toContain("update_opportunity_stage");
    expect(await audit("proposal.approved", id)).toEqual([{ outcome: "ok", rule: "policy", principal: "user:admin2@example.com" }]);
    expect(await audit("policy.applied", id)).toEqual([{ outcome: "ok", rule: "proposal", principal: "user:admin@example.com" }]);

    // Exactly once: a second approval (or a concurrent one) applies nothing.
    const twice = await Promise.all([decide(id, "approve", await admin2()), decide(id, "approve", await admin2())]);
    expect(twice.map((r) => r.status)).toEqual([409, 409]);
    expect(await head()).toBe(before + 1);
    expect(await audit("policy.applied", id)).toHaveLength(1);

    // Narrowing it back applies at once.
    expect((await apply(demo(), await admin1())).status).toBe(200);
    expect(await toolNames(alice)).not.toContain("update_opportunity_stage");
  });

  it("refuses to apply a proposal once the policy has moved on, and closes it as stale", async () => {
    const proposed = await apply(grantWriteToSalesOps(), await admin1());
    expect(proposed.status).toBe(202);
    const id = (proposed.body.proposal as Json).id as string;
    const edit = demo();
    edit.tools.pipeline_coverage.description += " (moved on)";
    expect((await apply(edit, await admin2())).status).toBe(200);
    const before = await head();
    const res = await decide(id, "approve", await admin2());
    expect(res.status).toBe(409);
    expect(res.body.error_description).toBe("policy changed since proposal, propose again");
    expect(await head()).toBe(before);
    expect(await stateOf(id)).toBe("stale");
    expect(await audit("proposal.stale", id)).toHaveLength(1);
    expect(await audit("policy.applied", id)).toEqual([]);
  });

  it("a denial needs a reason, closes the proposal, and nothing is applied; the proposer may withdraw their own", async () => {
    const proposed = await apply(grantWriteToSalesOps(), await admin1());
    const id = (proposed.body.proposal as Json).id as string;
    expect((await decide(id, "deny", await admin2())).status).toBe(400);
    const denied = await decide(id, "deny", await admin2(), "not for sales ops");
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({ state: "denied", reason: "not for sales ops" });
    expect((await decide(id, "approve", await admin2())).status).toBe(409);
    expect(await audit("proposal.denied", id)).toEqual([{ outcome: "ok", rule: "policy", principal: "user:admin2@example.com" }]);

    const again = await apply(grantWriteToSalesOps(), await admin1());
    const mine = (again.body.proposal as Json).id as string;
    expect((await decide(mine, "deny", await admin1(), "withdrawn")).status).toBe(200);
    expect(await stateOf(mine)).toBe("denied");
  });

  it("a proposal nobody approves expires after 24 hours, recorded once", async () => {
    const proposed = await apply(grantWriteToSalesOps(), await admin1());
    const id = (proposed.body.proposal as Json).id as string;
    await setClock(24 * 3600 + 60);
    try {
      const late = await tokenFor("admin2@example.com", "gatehouse:admin", { iat: Math.floor(Date.now() / 1000) + 24 * 3600 + 60, exp: Math.floor(Date.now() / 1000) + 24 * 3600 + 360 });
      const res = await decide(id, "approve", late);
      expect(res.status).toBe(409);
      expect(res.body.error_description).toBe("The proposal is already expired.");
      expect(await stateOf(id)).toBe("expired");
      expect(await audit("proposal.expired", id)).toHaveLength(1);
    } finally {
      await setClock(0);
    }
  });

  it("another workspace's admin cannot see or decide the proposal", async () => {
    const proposed = await apply(grantWriteToSalesOps(), await admin1());
    const id = (proposed.body.proposal as Json).id as string;
    const other = await tokenFor("admin2@example.com", "gatehouse:admin", { ws: "tenant-x" });
    // Not a member of that workspace's policy: refused before the proposals are looked at.
    expect([401, 403]).toContain((await decide(id, "approve", other)).status);
    expect(await stateOf(id)).toBe("pending");
    expect((await decide(id, "deny", await admin2(), "cleanup")).status).toBe(200);
  });
});

describe("two-person rule: task clients", () => {
  it("creates a read-only task client at once, and holds one with a write tool (its secret works only after approval)", async () => {
    // The task is granted the write tool directly (stored without the API, as a setup step).
    const doc = demo();
    doc.grants.push({ tools: ["update_opportunity_stage"], tasks: ["nightly-revenue-report"] });
    const checked = validatePolicy(doc);
    if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
    await applyCompiledPolicy(env.DB, await compilePolicy(checked.policy), JSON.stringify(checked.policy), "test", new Date());

    const read = await readJson(await postJson("/admin/api/tasks", { task: "nightly-revenue-report", tools: ["revenue_summary"] }, as(await admin1())));
    expect(read.status).toBe(201);

    const held = await readJson(await postJson("/admin/api/tasks", { task: "nightly-revenue-report", tools: ["revenue_summary", "update_opportunity_stage"] }, as(await admin1())));
    expect(held.status).toBe(202);
    const { client_id: clientId, client_secret: secret } = held.body as { client_id: string; client_secret: string };
    const id = (held.body.proposal as Json).id as string;
    expect((held.body.proposal as Json).reasons).toEqual(["the task client may call write tool update_opportunity_stage"]);
    const stored = await env.DB.prepare("SELECT payload FROM admin_proposals WHERE id = ?").bind(id).first<{ payload: string }>();
    expect(stored!.payload).not.toContain(secret);
    const token = () => postForm("/token", { grant_type: "client_credentials", scope: "db:read" }, { Authorization: basic(clientId, secret) });
    expect((await token()).status).toBe(401);

    expect((await decide(id, "approve", await admin1())).status).toBe(403);
    const approved = await decide(id, "approve", await admin2());
    expect(approved.status).toBe(200);
    expect(approved.body.client_id).toBe(clientId);
    expect((await token()).status).toBe(200);
    expect((await decide(id, "approve", await admin2())).status).toBe(409);
    const created = await env.DB.prepare("SELECT COUNT(*) AS n, MAX(created_by) AS by FROM oauth_clients WHERE client_id = ?").bind(clientId).first<{ n: number; by: string }>();
    expect(created).toEqual({ n: 1, by: "user:admin@example.com" });
    expect(await audit("client.created", id)).toEqual([{ outcome: "ok", rule: "task", principal: "user:admin@example.com" }]);

    // Rotating the secret is immediate: the old one stops working.
    const rotated = await readJson(await postJson(`/admin/api/tasks/${clientId}/rotate`, {}, as(await admin2())));
    expect(rotated.status).toBe(200);
    expect((await token()).status).toBe(401);
    const fresh = await postForm("/token", { grant_type: "client_credentials", scope: "db:read" }, { Authorization: basic(clientId, rotated.body.client_secret as string) });
    expect(fresh.status).toBe(200);
  });
});

describe("two-person rule: the approval's claim", () => {
  it("aborts the whole batch (nothing it carries is written) when the proposal is not pending or the policy moved", async () => {
    const proposed = await apply(grantWriteToSalesOps(), await admin1());
    const id = (proposed.body.proposal as Json).id as string;
    const base = await head();
    const marker = () =>
      env.DB.prepare("INSERT INTO revocations (kind, value, workspace_id, revoked_at, reason, revoked_by) VALUES ('token', ?, 'demo', 0, 'claim-test', 'test')").bind(crypto.randomUUID());
    const now = Math.floor(Date.now() / 1000);
    const count = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM revocations WHERE reason = 'claim-test'").first<{ n: number }>())!.n;
    // The wrong head (as if another version had been applied in between): refused, and the marker rolled back.
    await expect(env.DB.batch([...claimProposalStatements(env.DB, { id, workspace: "demo", by: "user:admin2@example.com", now, expectedHead: base + 1 }), marker()])).rejects.toThrow(
      /NOT NULL constraint failed: admin_proposals\.id/,
    );
    // The proposer: refused the same way.
    await expect(env.DB.batch([...claimProposalStatements(env.DB, { id, workspace: "demo", by: "user:admin@example.com", now, expectedHead: base }), marker()])).rejects.toThrow(/NOT NULL/);
    expect(await count()).toBe(0);
    expect(await stateOf(id)).toBe("pending");
    // The right one claims it once; a second claim is refused.
    await env.DB.batch([...claimProposalStatements(env.DB, { id, workspace: "demo", by: "user:admin2@example.com", now, expectedHead: base }), marker()]);
    await expect(env.DB.batch([...claimProposalStatements(env.DB, { id, workspace: "demo", by: "user:admin2@example.com", now, expectedHead: base }), marker()])).rejects.toThrow(/NOT NULL/);
    expect(await count()).toBe(1);
    expect(await stateOf(id)).toBe("applied");
  });
});

describe("two-person rule: a head that cannot be compared", () => {
  it("holds any change when the current version's stored document no longer validates", async () => {
    const v = await head();
    const stored = await env.DB.prepare("SELECT hash, document FROM policy_versions WHERE workspace_id = 'demo' AND version = ?").bind(v).first<{ hash: string; document: string }>();
    const old = JSON.parse(stored!.document) as Doc;
    old.retired_key = true;
    await env.DB.prepare("INSERT INTO policy_versions (workspace_id, version, hash, applied_at, applied_by, document) VALUES ('demo', ?, ?, ?, 'older-schema', ?)")
      .bind(v + 1, stored!.hash, new Date().toISOString(), JSON.stringify(old))
      .run();
    const doc = demo();
    doc.tools.revenue_summary.description += " (harmless)";
    const res = await apply(doc, await admin1());
    expect(res.status).toBe(202);
    expect((res.body.proposal as Json).reasons).toEqual([`the current version ${v + 1} can no longer be compared with (its stored document does not validate), so any change is reviewed`]);
  });
});

describe("two-person rule: transitions commit with their audit rows", () => {
  it("stores no proposal and applies no approval when the audit row cannot be written", async () => {
    const trigger = "CREATE TRIGGER IF NOT EXISTS proposals_audit_refuses BEFORE INSERT ON audit_events WHEN NEW.event LIKE 'proposal.%' BEGIN SELECT RAISE(ABORT, 'audit store refuses'); END";
    const count = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM admin_proposals").first<{ n: number }>())!.n;
    // A head that compiles again, so the widening below is classified normally.
    const reset = demo();
    const checked = validatePolicy(reset);
    if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
    await applyCompiledPolicy(env.DB, await compilePolicy(checked.policy), JSON.stringify(checked.policy), "test", new Date());
    const before = await count();
    await env.DB.prepare(trigger).run();
    try {
      const refused = await postJson("/admin/api/policy", grantWriteToSalesOps(), as(await admin1()));
      expect(refused.status).toBe(503);
      await refused.body?.cancel();
      expect(await count()).toBe(before);
    } finally {
      await env.DB.prepare("DROP TRIGGER IF EXISTS proposals_audit_refuses").run();
    }
    const proposed = await apply(grantWriteToSalesOps(), await admin1());
    const id = (proposed.body.proposal as Json).id as string;
    const v = await head();
    await env.DB.prepare(trigger).run();
    try {
      const refused = await postJson(`/admin/api/proposals/${id}/approve`, {}, as(await admin2()));
      expect(refused.status).toBe(503);
      await refused.body?.cancel();
    } finally {
      await env.DB.prepare("DROP TRIGGER IF EXISTS proposals_audit_refuses").run();
    }
    expect(await head()).toBe(v);
    expect(await stateOf(id)).toBe("pending");
  });
});
