import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { nowSeconds } from "../../src/lib/clock";
import { CONSOLE_IDLE_SECONDS } from "../../src/console/session";
import { afterEach, describe, expect, it } from "vitest";
import { freshIp, get, hidden, postForm, setClock } from "./oauth-helpers";
import { consoleSignIn, cookieOf } from "./console-session";
import { inOneRateWindow } from "../support/rate-window";

/**
 * The console's sign-in and guards through SELF.fetch (real D1, the dev clock): the first-party authorization-code
 * flow with PKCE, the session cookie's attributes, CSRF on POST, the idle timeout and the login-CSRF check.
 * The browser scenarios (deep link, approve, axe) are in test/e2e/console.test.ts.
 */
afterEach(async () => setClock(0));

describe("console sign-in", () => {
  it("signs Maria in through /authorize and lands on the deep link with an HttpOnly, SameSite=Lax session cookie", async () => {
    const { callback, loginCookie } = await consoleSignIn("maria@example.com", ["gatehouse:approve"]);
    expect(callback.pathname).toBe("/console/callback");
    const done = await get(callback.pathname + callback.search, { Cookie: loginCookie });
    expect(done.status).toBe(302);
    expect(done.headers.get("location")).toBe("/console/approvals/abc123");
    const session = cookieOf(done, "gh_console")!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Lax/i);
    expect(session).toMatch(/Path=\/console/i);
    expect(session).not.toMatch(/Secure/i); // loopback http origin; https origins get Secure
    const cookie = session.split(";")[0]!;

    const inbox = await get("/console/approvals", { Cookie: cookie });
    expect(inbox.status).toBe(200);
    const csp = inbox.headers.get("content-security-policy")!;
    const nonce = /script-src 'nonce-([0-9a-f]+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const inboxHtml = await inbox.text();
    expect(inboxHtml).toContain(`<style nonce="${nonce}">`);
    // The inbox's refresh script runs by the nonce; no inline handlers anywhere.
    expect(inboxHtml).toContain(`<script nonce="${nonce}">setInterval(function(){`);
    expect(inboxHtml).not.toMatch(/\son[a-z]+=/);

    // A POST without the session's CSRF token changes nothing.
    const forged = await postForm("/console/logout", {}, { Cookie: cookie });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain("CSRF check failed");
    expect((await get("/console/approvals", { Cookie: cookie })).status).toBe(200);

    // The idle timeout ends the session (30 minutes without a request).
    await setClock(31 * 60);
    const idle = await get("/console/approvals", { Cookie: cookie });
    expect(idle.status).toBe(302);
    expect(idle.headers.get("location")).toMatch(/^\/console\/login/);
    await setClock(0);
    expect((await get("/console/approvals", { Cookie: cookie })).status).toBe(302);
  });

  it("signs out with the CSRF token, which revokes the OAuth session too", async () => {
    const { callback, loginCookie } = await consoleSignIn("maria@example.com", ["gatehouse:approve"], "/console");
    const cookie = cookieOf(await get(callback.pathname + callback.search, { Cookie: loginCookie }), "gh_console")!.split(";")[0]!;
    const csrf = hidden(await (await get("/console/approvals", { Cookie: cookie })).text(), "csrf")!;
    const out = await postForm("/console/logout", { csrf }, { Cookie: cookie });
    expect(out.status).toBe(200);
    expect((await get("/console/approvals", { Cookie: cookie })).status).toBe(302);
  });

  it("refuses a callback this browser did not start (login CSRF)", async () => {
    const { callback } = await consoleSignIn("maria@example.com", ["gatehouse:approve"]);
    const res = await get(callback.pathname + callback.search);
    expect(res.status).toBe(400);
    expect(cookieOf(res, "gh_console")).toBeUndefined();
  });

  it("gives an approver who is not an admin a 403 on the audit explorer, and audits it", async () => {
    const { callback, loginCookie } = await consoleSignIn("maria@example.com", ["gatehouse:approve"], "/console/audit");
    const done = await get(callback.pathname + callback.search, { Cookie: loginCookie });
    expect(done.headers.get("location")).toBe("/console/audit");
    const cookie = cookieOf(done, "gh_console")!.split(";")[0]!;
    const res = await get("/console/audit", { Cookie: cookie });
    expect(res.status).toBe(403);
    const row = await env.DB.prepare("SELECT outcome, rule, principal FROM audit_events WHERE event = 'console.access' AND rule = 'not_admin' ORDER BY seq DESC LIMIT 1").first();
    expect(row).toEqual({ outcome: "denied", rule: "not_admin", principal: "user:maria@example.com" });
  });

  it("stores at most 120 console sign-ins a minute from one IP; the next is a 429 page that stores nothing", { timeout: 90_000 }, async () => {
    await inOneRateWindow(30);
    const ip = freshIp();
    const before = (await env.DB.prepare("SELECT COUNT(*) AS n FROM console_logins").first<number>("n"))!;
    for (let i = 0; i < 120; i++) {
      const res = await get("/console/login", { "cf-connecting-ip": ip });
      expect(res.status).toBe(302);
    }
    const refused = await get("/console/login", { "cf-connecting-ip": ip });
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain("Too many sign-ins");
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM console_logins").first("n")).toBe(before + 120);
    expect((await get("/console/login", { "cf-connecting-ip": freshIp() })).status).toBe(302);
  });

  it("refuses a POST with no session", async () => {
    const res = await postForm("/console/approvals/abc/approve", { csrf: "x" });
    expect(res.status).toBe(403);
  });
});

describe("console housekeeping", () => {
  it("the minute Cron deletes expired sign-ins and expired or idle console sessions", async () => {
    const now = nowSeconds();
    const session = (id: string, lastSeen: number, expires: number) =>
      env.DB.prepare(
        "INSERT INTO console_sessions (id_hash, csrf, oauth_session_id, principal_id, workspace_id, scope, created_at, last_seen_at, expires_at) VALUES (?, 'c', 's', 'user:maria@example.com', 'demo', 'gatehouse:approve', ?, ?, ?)",
      ).bind(id, now - 60, lastSeen, expires);
    const login = (state: string, expires: number) => env.DB.prepare("INSERT INTO console_logins (state, code_verifier, return_to, expires_at) VALUES (?, 'v', '/console', ?)").bind(state, expires);
    await env.DB.batch([
      session("prune-cs-expired", now, now - 1),
      session("prune-cs-idle", now - CONSOLE_IDLE_SECONDS - 1, now + 3600),
      session("prune-cs-live", now - 60, now + 3600),
      login("prune-cl-expired", now - 1),
      login("prune-cl-live", now + 300),
    ]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const ids = async (sql: string) => (await env.DB.prepare(sql).all<{ id: string }>()).results.map((r) => r.id).sort();
    expect(await ids("SELECT id_hash AS id FROM console_sessions WHERE id_hash LIKE 'prune-%'")).toEqual(["prune-cs-live"]);
    expect(await ids("SELECT state AS id FROM console_logins WHERE state LIKE 'prune-%'")).toEqual(["prune-cl-live"]);
  });
});

describe("console approvals (server side)", () => {
  async function mariaCookie(): Promise<string> {
    const { callback, loginCookie } = await consoleSignIn("maria@example.com", ["gatehouse:approve"], "/console/approvals");
    return cookieOf(await get(callback.pathname + callback.search, { Cookie: loginCookie }), "gh_console")!.split(";")[0]!;
  }
  async function filed(id: string, requester: string): Promise<void> {
    const tool = await env.DB.prepare("SELECT version, definition FROM tools WHERE workspace_id = 'demo' AND name = 'update_opportunity_stage'").first<{ version: string; definition: string }>();
    const now = nowSeconds();
    await env.DB.prepare(
      "INSERT INTO approvals (id, workspace_id, tool, tool_version, args, args_hash, sql_text, approver_group, requester, status, created_at, expires_at) VALUES (?, 'demo', 'update_opportunity_stage', ?, ?, 'h', ?, 'approvers', ?, 'pending', ?, ?)",
    )
      .bind(
        id,
        tool!.version,
        JSON.stringify({ opportunity_id: 7, owner_email: "wes@example.com", stage: "proposal" }),
        (JSON.parse(tool!.definition) as { sql: string }).sql,
        requester,
        now,
        now + 600,
      )
      .run();
  }

  it("shows the statement with bound values, approves once with the CSRF token, then answers 409", async () => {
    const cookie = await mariaCookie();
    await filed("console-w-1", "user:wes@example.com");
    const page = await get("/console/approvals/console-w-1", { Cookie: cookie });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('data-placeholder="$1">7<');
    expect(html).toContain(`data-placeholder="$2">&#39;proposal&#39;<`);
    const csrf = hidden(html, "csrf")!;
    const ok = await postForm("/console/approvals/console-w-1/approve", { csrf }, { Cookie: cookie });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/console/approvals/console-w-1?done=approved");
    expect(await env.DB.prepare("SELECT status, decided_by FROM approvals WHERE id = 'console-w-1'").first()).toEqual({ status: "approved", decided_by: "user:maria@example.com" });
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE approval_id = 'console-w-1' AND event = 'approval.approved'").first("n")).toBe(1);
    const again = await postForm("/console/approvals/console-w-1/deny", { csrf, reason: "late" }, { Cookie: cookie });
    expect(again.status).toBe(409);
  });

  it("never lets the requester approve their own request", async () => {
    const cookie = await mariaCookie();
    await filed("console-m-1", "user:maria@example.com");
    const html = await (await get("/console/approvals/console-m-1", { Cookie: cookie })).text();
    expect(html).toContain("another approver must decide it");
    expect(html).not.toContain("/console/approvals/console-m-1/approve");
    const res = await postForm("/console/approvals/console-m-1/approve", { csrf: hidden(html, "csrf")! }, { Cookie: cookie });
    expect(res.status).toBe(403);
    expect(await env.DB.prepare("SELECT status FROM approvals WHERE id = 'console-m-1'").first("status")).toBe("pending");
    expect(await env.DB.prepare("SELECT rule FROM audit_events WHERE approval_id = 'console-m-1' AND outcome = 'denied'").first("rule")).toBe("requester_cannot_decide");
  });
});
