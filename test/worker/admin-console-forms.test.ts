import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { basic, get, hidden, postForm } from "./oauth-helpers";
import { consoleCookie } from "./console-session";

// The console's admin forms (docs/console.md): policy upload → preview → apply, held by the two-person rule when it
// widens write access and approved by a second admin on the proposal page; task client create (secret shown once)
// and rotate. Every POST carries the session's CSRF token. Browser scenarios are in test/e2e/console-proposals.test.ts.

type Doc = Record<string, any>;
const demo = (): Doc => parse(demoPolicy) as Doc;
const ADMIN = ["gatehouse:admin"];
const head = async () => (await env.DB.prepare("SELECT MAX(version) AS v FROM policy_versions WHERE workspace_id = 'demo'").first<{ v: number }>())!.v;

async function csrfOf(cookie: string, path = "/console/policy"): Promise<string> {
  return hidden(await (await get(path, { Cookie: cookie })).text(), "csrf")!;
}

// Each test signs in through the whole console flow (two admins in the first): more than the default 5 s under load.
describe("console: policy upload and the two-person rule", { timeout: 30_000 }, () => {
  it("previews a write-widening upload as held, proposes it, refuses the proposer, and applies it on a second admin's approval", async () => {
    const admin = await consoleCookie("admin@example.com", ADMIN, "/console/policy");
    const csrf = await csrfOf(admin);
    const doc = demo();
    doc.grants.push({ tools: ["update_opportunity_stage"], groups: ["sales-ops"] });
    const yaml = stringify(doc);

    const preview = await postForm("/console/policy/preview", { csrf, document: yaml }, { Cookie: admin });
    const html = await preview.text();
    expect(preview.status).toBe(200);
    expect(html).toContain("+ grant update_opportunity_stage → group:sales-ops");
    expect(html).toContain("grants write tool update_opportunity_stage to group:sales-ops");
    expect(html).toContain("Propose for approval");
    const base = hidden(html, "base_version")!;
    expect(Number(base)).toBe(await head());

    // Without the CSRF token nothing is applied or proposed.
    const forged = await postForm("/console/policy/apply", { document: yaml, base_version: base }, { Cookie: admin });
    expect(forged.status).toBe(403);
    await forged.body?.cancel();
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM admin_proposals").first("n")).toBe(0);

    const applied = await postForm("/console/policy/apply", { csrf, document: yaml, base_version: base }, { Cookie: admin });
    expect(applied.status).toBe(303);
    const location = applied.headers.get("location")!;
    const id = /^\/console\/proposals\/([0-9a-f]+)\?done=held$/.exec(location)![1]!;
    expect(await head()).toBe(Number(base));

    // The proposer sees it pending with no Approve form, and a forced approval is refused.
    const mine = await (await get(`/console/proposals/${id}`, { Cookie: admin })).text();
    expect(mine).toContain("You proposed this change: another admin must approve it.");
    expect(mine).not.toContain(`/console/proposals/${id}/approve`);
    const own = await postForm(`/console/proposals/${id}/approve`, { csrf }, { Cookie: admin });
    expect(own.status).toBe(403);
    await own.body?.cancel();
    expect(await env.DB.prepare("SELECT state FROM admin_proposals WHERE id = ?").bind(id).first("state")).toBe("pending");

    // The second admin approves it: applied, once.
    const admin2 = await consoleCookie("admin2@example.com", ADMIN, "/console/proposals");
    const list = await (await get("/console/proposals", { Cookie: admin2 })).text();
    expect(list).toContain(`data-proposal="${id}"`);
    const detail = await (await get(`/console/proposals/${id}`, { Cookie: admin2 })).text();
    expect(detail).toContain(`/console/proposals/${id}/approve`);
    const ok = await postForm(`/console/proposals/${id}/approve`, { csrf: hidden(detail, "csrf")! }, { Cookie: admin2 });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe(`/console/proposals/${id}?done=applied`);
    expect(await head()).toBe(Number(base) + 1);
    const again = await postForm(`/console/proposals/${id}/approve`, { csrf: hidden(detail, "csrf")! }, { Cookie: admin2 });
    expect(again.status).toBe(409);
    await again.body?.cancel();
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE event = 'policy.applied' AND approval_id = ?").bind(id).first("n")).toBe(1);
  });

  it("applies a change that widens nothing at once, from an uploaded file; refuses invalid YAML and a stale preview", async () => {
    const admin = await consoleCookie("admin@example.com", ADMIN, "/console/policy");
    const csrf = await csrfOf(admin);
    const doc = demo();
    doc.tools.revenue_summary.description += " (from the console)";
    const file = new FormData();
    file.append("csrf", csrf);
    file.append("document", "");
    file.append("file", new File([stringify(doc)], "policy.yaml", { type: "application/yaml" }));
    const preview = await SELF.fetch("http://127.0.0.1:8787/console/policy/preview", { method: "POST", body: file, headers: { Cookie: admin } });
    const html = await preview.text();
    expect(preview.status).toBe(200);
    expect(html).toContain("It applies at once.");
    const base = hidden(html, "base_version")!;

    const bad = await postForm("/console/policy/preview", { csrf, document: "tools: [unclosed" }, { Cookie: admin });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("not valid YAML");

    const before = await head();
    const ok = await postForm("/console/policy/apply", { csrf, document: stringify(doc), base_version: base }, { Cookie: admin });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe(`/console/policy?applied=${before + 1}`);
    const stale = await postForm("/console/policy/apply", { csrf, document: stringify(demo()), base_version: base }, { Cookie: admin });
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain("The policy changed since this preview");
    expect(await head()).toBe(before + 1);
  });

  it("gives an approver who is not an admin the audited 403 on proposals", async () => {
    const maria = await consoleCookie("maria@example.com", ["gatehouse:approve"], "/console/approvals");
    const res = await get("/console/proposals", { Cookie: maria });
    expect(res.status).toBe(403);
    await res.body?.cancel();
  });
});

describe("console: task clients", { timeout: 30_000 }, () => {
  it("creates a read-only task client, showing its secret once (stored as a hash), and rotates it", async () => {
    const admin = await consoleCookie("admin@example.com", ADMIN, "/console/sessions");
    const csrf = await csrfOf(admin, "/console/sessions");
    const created = await postForm(
      "/console/sessions/tasks",
      [
        ["csrf", csrf],
        ["task", "nightly-revenue-report"],
        ["tools", "revenue_summary"],
        ["ttl_seconds", "300"],
        ["name", "Console-made report"],
      ],
      { Cookie: admin },
    );
    const html = await created.text();
    expect(created.status, html.slice(0, 3000)).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const clientId = /data-client-id[^>]*>([^<]+)</.exec(html)![1]!;
    const secret = /data-client-secret[^>]*>([^<]+)</.exec(html)![1]!;
    const row = await env.DB.prepare("SELECT secret_hash, created_by FROM oauth_clients WHERE client_id = ?").bind(clientId).first<{ secret_hash: string; created_by: string }>();
    expect(row!.created_by).toBe("user:admin@example.com");
    expect(row!.secret_hash).not.toContain(secret);
    const token = (s: string) => postForm("/token", { grant_type: "client_credentials", scope: "db:read" }, { Authorization: basic(clientId, s) });
    expect((await token(secret)).status).toBe(200);
    // The secret is on that response only: the sessions page lists the client without it.
    const list = await (await get("/console/sessions", { Cookie: admin })).text();
    expect(list).toContain(clientId);
    expect(list).not.toContain(secret);

    const rotated = await postForm("/console/sessions/rotate", { csrf, client_id: clientId }, { Cookie: admin });
    const fresh = /data-client-secret[^>]*>([^<]+)</.exec(await rotated.text())![1]!;
    expect(rotated.status).toBe(200);
    expect((await token(secret)).status).toBe(401);
    expect((await token(fresh)).status).toBe(200);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE event = 'client.rotated' AND client_id = ?").bind(clientId).first("n")).toBe(1);
  });

  it("refuses a task client with a tool the policy does not grant the task", async () => {
    const admin = await consoleCookie("admin@example.com", ADMIN, "/console/sessions");
    const csrf = await csrfOf(admin, "/console/sessions");
    const res = await postForm(
      "/console/sessions/tasks",
      [
        ["csrf", csrf],
        ["task", "nightly-revenue-report"],
        ["tools", "execute_sql"],
      ],
      { Cookie: admin },
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("The policy does not grant task");
  });
});
