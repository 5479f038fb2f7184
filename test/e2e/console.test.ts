import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import AxeBuilder from "@axe-core/playwright";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { launchChromium, watchPage } from "../support/browser";
import { connectClient, devToken } from "../support/mcp-client";
import { authorizeUrl, newPkce, registerAs, tokenRequest } from "../support/oauth-client";
import { signInThroughBrowser } from "../support/oauth-browser";
import { queryD1 } from "../support/d1";
import { ROOT } from "../../local/wrangler";
import { demoQuery } from "../support/demo-db";

/**
 * The console (/console) in a real Chromium against the dev stack: sign-in through Gatehouse's own /authorize
 * with the dev login, the approval deep link from a pending tool result, form posts with and without the CSRF
 * token, the 403 for a user who is neither admin nor approver, and axe-core on every page. Screenshots of every
 * page go to test-results/console/.
 */
const e2e = inject("e2e");
const SHOTS = join(ROOT, "test-results/console");

type CallResult = { isError?: boolean; content: Array<{ text?: string }>; structuredContent?: { rows: unknown[][]; approval?: { id: string; url: string } } };
const text = (r: CallResult) => r.content.map((c) => c.text ?? "").join("\n");

const pgQuery = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => demoQuery<T>(e2e.pg.superuserUrl, sql, params);

/** Serious or critical accessibility violations on the page (axe-core), as "rule: target" strings. */
async function axeProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}`));
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Dev login as `email`, ticking `scope` on the consent page when it is offered. */
async function signIn(page: Page, email: string, scope?: string): Promise<void> {
  await page.locator(`button[name="email"][value="${email}"]`).click();
  if (scope) {
    await page.locator(`input[name="scope"][value="${scope}"]`).check();
    await page.locator('button[name="decision"][value="allow"]').click();
  }
  await page.waitForLoadState();
}

let browser: Browser;
let wes: Client;
let maria: BrowserContext;
let mariaPage: Page;
const call = (args: Record<string, unknown>) => wes.callTool({ name: "update_opportunity_stage", arguments: args }) as Promise<CallResult>;

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  browser = await launchChromium();
  wes = await connectClient(e2e.mcpUrl, await devToken(e2e, { user: "wes@example.com" }));
  maria = await browser.newContext();
  mariaPage = await maria.newPage();
});
afterAll(async () => {
  await wes?.close();
  await browser?.close();
});

describe("console: approvals", () => {
  // An open opportunity of Wes's that no other suite changes (they use 48 and a fixed handful; modern-era takes the
  // lowest open one): the highest open one, chosen at test time.
  let opp: { id: number; stage: string };
  beforeAll(async () => {
    [opp] = (await pgQuery<{ id: number; stage: string }>(
      "SELECT id, stage FROM sales.opportunities WHERE owner_email = 'wes@example.com' AND id NOT IN (5, 7, 8, 16, 22, 23, 48, 112, 136, 152) AND stage NOT IN ('closed_won', 'closed_lost') ORDER BY id DESC LIMIT 1",
    )) as [{ id: number; stage: string }];
    expect(opp).toBeDefined();
  });

  it("Maria signs in through the dev login, opens the deep link from Wes's pending result, approves, and Wes's repeat call runs once", async () => {
    const target = opp.stage === "negotiation" ? "proposal" : "negotiation";
    const args = { opportunity_id: opp.id, stage: target };
    const first = await call(args);
    const approval = first.structuredContent!.approval!;
    expect(approval.url).toBe(`${e2e.workerUrl}/console/approvals/${approval.id}`);
    expect(text(first)).toContain(approval.url);
    // The webhook carries the same deep link.
    let hooks: Array<Record<string, string>> = [];
    for (let i = 0; i < 50 && !hooks.some((h) => h.approval_id === approval.id); i++) {
      hooks = (await (await fetch(`${e2e.webhookUrl}/received`)).json()) as Array<Record<string, string>>;
      if (!hooks.some((h) => h.approval_id === approval.id)) await new Promise((res) => setTimeout(res, 100));
    }
    expect(hooks.find((h) => h.approval_id === approval.id)?.url).toBe(approval.url);

    const watch = watchPage(mariaPage);
    await mariaPage.goto(approval.url);
    expect(new URL(mariaPage.url()).pathname).toBe("/authorize");
    await signIn(mariaPage, "maria@example.com", "gatehouse:approve");
    expect(mariaPage.url()).toBe(approval.url);
    const cookies = await maria.cookies(`${e2e.workerUrl}/console`);
    const session = cookies.find((c) => c.name === "gh_console")!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/console", secure: false });
    // No token reaches the browser: the cookie is an opaque id, and no page script can read it.
    expect(session.value).not.toMatch(/^ey/);
    expect(await mariaPage.evaluate(() => document.cookie)).toBe("");

    // The exact SQL with each bound value beside its placeholder, and the argument hash.
    expect(await mariaPage.locator('[data-placeholder="$1"]').textContent()).toBe(String(opp.id));
    expect(await mariaPage.locator('[data-placeholder="$2"]').textContent()).toBe(`'${target}'`);
    expect(await mariaPage.locator('[data-placeholder="$3"]').textContent()).toBe("'wes@example.com'");
    expect(await mariaPage.locator("[data-sql]").textContent()).toContain("UPDATE sales.opportunities SET stage = $2");
    const [row] = await queryD1<{ args_hash: string }>(e2e.stateDir, `SELECT args_hash FROM approvals WHERE id = '${approval.id}'`);
    expect(await mariaPage.locator("[data-args-hash]").textContent()).toBe(row!.args_hash);
    expect(await axeProblems(mariaPage)).toEqual([]);
    await shot(mariaPage, "approval-detail-pending");

    await mariaPage.getByRole("button", { name: "Approve" }).click();
    await mariaPage.waitForLoadState();
    expect(await mariaPage.locator("[data-status]").getAttribute("data-status")).toBe("approved");
    expect(await axeProblems(mariaPage)).toEqual([]);
    await shot(mariaPage, "approval-detail-approved");

    const repeats = await Promise.all([call(args), call(args)]);
    expect(repeats.filter((r) => !r.isError && r.structuredContent?.rows?.[0]?.[0] === 1)).toHaveLength(1);
    expect((await pgQuery<{ stage: string }>("SELECT stage FROM sales.opportunities WHERE id = $1", [opp.id]))[0]!.stage).toBe(target);
    const decided = await queryD1<{ event: string; principal: string }>(e2e.stateDir, `SELECT event, principal FROM audit_events WHERE approval_id = '${approval.id}' AND event = 'approval.approved'`);
    expect(decided).toEqual([{ event: "approval.approved", principal: "user:maria@example.com" }]);
    expect(watch.problems).toEqual([]);
  });

  it("refuses a POST without the session's CSRF token, and the inbox lists the request until Maria denies it with a reason", async () => {
    const args = { opportunity_id: opp.id, stage: "closed_lost" };
    const id = (await call(args)).structuredContent!.approval!.id;
    const forged = await maria.request.post(`${e2e.workerUrl}/console/approvals/${id}/deny`, { form: { reason: "forged" }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain("CSRF check failed");
    const wrong = await maria.request.post(`${e2e.workerUrl}/console/approvals/${id}/approve`, { form: { csrf: "0".repeat(64) }, maxRedirects: 0 });
    expect(wrong.status()).toBe(403);
    const [still] = await queryD1<{ status: string }>(e2e.stateDir, `SELECT status FROM approvals WHERE id = '${id}'`);
    expect(still!.status).toBe("pending");
    const refusals = await queryD1<{ n: number }>(e2e.stateDir, "SELECT COUNT(*) AS n FROM audit_events WHERE event = 'console.access' AND rule = 'csrf' AND principal = 'user:maria@example.com'");
    expect(refusals[0]!.n).toBeGreaterThanOrEqual(2);

    const watch = watchPage(mariaPage);
    await mariaPage.goto(`${e2e.workerUrl}/console/approvals`);
    expect(await mariaPage.locator(`tr[data-approval="${id}"]`).count()).toBe(1);
    // The inbox's refresh script carries the response's nonce: it runs, and the CSP reports nothing.
    expect(await mariaPage.evaluate(() => document.scripts.length)).toBe(1);
    expect(await axeProblems(mariaPage)).toEqual([]);
    await shot(mariaPage, "approvals-inbox");

    await mariaPage.locator(`tr[data-approval="${id}"] a`).click();
    await mariaPage.getByLabel("Reason for denying").fill("Closing it is the account team's call");
    await mariaPage.getByRole("button", { name: "Deny" }).click();
    await mariaPage.waitForLoadState();
    expect(await mariaPage.locator("[data-status]").getAttribute("data-status")).toBe("denied");
    await mariaPage.goto(`${e2e.workerUrl}/console/approvals`);
    expect(await mariaPage.locator(`tr[data-approval="${id}"] .status`).textContent()).toBe("denied");
    await shot(mariaPage, "approvals-inbox-decided");
    expect(watch.problems).toEqual([]);
    expect((await call(args)).isError).toBe(true);
  });

  it("refuses a POST with no console session", async () => {
    const res = await fetch(`${e2e.workerUrl}/console/approvals/x/approve`, { method: "POST", redirect: "manual", body: new URLSearchParams({ csrf: "x" }) });
    expect(res.status).toBe(403);
  });

  it("signs out: the session cookie stops working and the OAuth session is revoked", async () => {
    await mariaPage.goto(`${e2e.workerUrl}/console/approvals`);
    await mariaPage.getByRole("button", { name: "Sign out" }).click();
    await mariaPage.waitForLoadState();
    expect(await mariaPage.locator("h1").textContent()).toBe("Signed out");
    expect(await axeProblems(mariaPage)).toEqual([]);
    await shot(mariaPage, "signed-out");
    const res = await maria.request.get(`${e2e.workerUrl}/console/approvals`, { maxRedirects: 0 });
    expect(res.status()).toBe(302);
    const revoked = await queryD1<{ n: number }>(e2e.stateDir, "SELECT COUNT(*) AS n FROM revocations WHERE kind = 'session' AND reason = 'console_sign_out'");
    expect(revoked[0]!.n).toBe(1);
  });
});

describe("console: audit explorer (admin)", () => {
  it("renders the calls chart with data, filters, shows one row, exports CSV, verifies the chain; the overview shows the day", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page);
    await page.goto(`${e2e.workerUrl}/console/audit`);
    await signIn(page, "admin@example.com", "gatehouse:admin");
    expect(new URL(page.url()).pathname).toBe("/console/audit");
    // Wes's calls above are tool.call rows of the last 24 hours: the chart has bars, stacked by outcome.
    expect(Number(await page.locator("svg[data-chart]").getAttribute("data-total"))).toBeGreaterThan(0);
    const outcomes = await page.locator("svg[data-chart] rect[data-outcome]").evaluateAll((rects) => rects.map((r) => r.getAttribute("data-outcome")));
    expect(outcomes).toContain("pending_approval");
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "audit-explorer");

    await page.locator("#f-outcome").selectOption("pending_approval");
    await page.locator("#f-tool").fill("update_opportunity_stage");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForLoadState();
    const rowOutcomes = await page.locator("tbody tr[data-seq] td:nth-child(4)").allTextContents();
    expect(rowOutcomes.length).toBeGreaterThan(0);
    expect(new Set(rowOutcomes)).toEqual(new Set(["pending_approval"]));
    const csv = await context.request.get(`${e2e.workerUrl}${await page.getByRole("link", { name: "CSV" }).getAttribute("href")}`);
    expect(csv.status()).toBe(200);
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toMatch(/^seq,id,time,event,outcome,/);
    expect(lines.length - 1).toBeGreaterThanOrEqual(rowOutcomes.length);

    await page.locator("tbody tr[data-seq] a").first().click();
    await page.waitForLoadState();
    expect(await page.locator("h1").textContent()).toMatch(/^Audit row \d+$/);
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "audit-row");

    await page.goto(`${e2e.workerUrl}/console/audit`);
    await page.getByRole("button", { name: "Verify the chain" }).click();
    await page.waitForLoadState();
    expect(await page.locator("[data-verdict]").getAttribute("data-verdict")).toBe("intact");
    await shot(page, "audit-verified");

    // The overview: today's calls, pending approvals, blocked calls, top tools and this last verification.
    await page.getByRole("link", { name: "Overview" }).click();
    await page.waitForLoadState();
    expect(Number(await page.locator("[data-calls]").getAttribute("data-calls"))).toBeGreaterThan(0);
    expect(await page.locator("[data-overview]").textContent()).toMatch(/Last chain verification.*intact.*by user:admin@example\.com/);
    expect(await page.locator("[data-overview]").textContent()).toContain("update_opportunity_stage");
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "overview");
    expect(watch.problems).toEqual([]);
    await context.close();
  });
});

describe("console: sessions (admin)", () => {
  it("an admin revokes Alice's session, and Alice's next /mcp call gets 401", async () => {
    const redirectUri = "http://127.0.0.1:9/callback";
    const clientId = await registerAs(e2e.workerUrl, {
      client_name: "Alice's notebook",
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    });
    const pkce = newPkce();
    const trace = await signInThroughBrowser(authorizeUrl(e2e.workerUrl, { clientId, redirectUri, pkce, state: "alice-1" }), { email: "alice@example.com" });
    const code = new URL(trace.location).searchParams.get("code")!;
    const tokens = await tokenRequest(e2e.workerUrl, { grant_type: "authorization_code", code, code_verifier: pkce.verifier, redirect_uri: redirectUri, client_id: clientId });
    const mcp = () =>
      fetch(e2e.mcpUrl, {
        method: "POST",
        headers: { Authorization: `Bearer ${tokens.access_token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
    expect((await mcp()).status).toBe(200);

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${e2e.workerUrl}/console/sessions`);
    await signIn(page, "admin@example.com", "gatehouse:admin");
    const row = page.locator(`tr[data-principal="user:alice@example.com"]`, { hasText: "Alice's notebook" });
    expect(await row.count()).toBe(1);
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "sessions");

    // The effective policy on the way: the grants matrix, the version history and the head version's diff.
    await page.getByRole("link", { name: "Policy" }).click();
    await page.waitForLoadState();
    expect(await page.locator('tr[data-subject="group:account-executives"]').textContent()).toContain("write");
    expect(await page.locator("[data-diff] li").count()).toBeGreaterThan(0);
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "policy");
    await page.goto(`${e2e.workerUrl}/console/sessions`);
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.waitForLoadState();
    expect(await page.locator("p.notice").textContent()).toContain("Revoked");
    expect(await page.locator(`tr[data-principal="user:alice@example.com"]`, { hasText: "Alice's notebook" }).count()).toBe(0);
    await context.close();

    // Revocation is checked against D1 on every /mcp call (a per-isolate cache of a few seconds at most).
    let status = 0;
    for (let i = 0; i < 50 && status !== 401; i++) {
      status = (await mcp()).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    const audit = await queryD1<{ rule: string; principal: string }>(
      e2e.stateDir,
      "SELECT rule, principal FROM audit_events WHERE event = 'revocation' AND rule = 'session' ORDER BY seq DESC LIMIT 1",
    );
    expect(audit).toEqual([{ rule: "session", principal: "user:admin@example.com" }]);
  });
});

describe("console: who may not use it", () => {
  it("gives Alice (neither admin nor approver) a 403 page, and audits the attempt", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${e2e.workerUrl}/console`);
    expect(new URL(page.url()).pathname).toBe("/authorize");
    const [response] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === "/console/callback"), signIn(page, "alice@example.com")]);
    expect(response.status()).toBe(403);
    expect(await page.locator("h1").textContent()).toBe("Not allowed");
    expect(response.headers()["content-security-policy"]).toMatch(/script-src 'nonce-[0-9a-f]+'.*frame-ancestors 'none'/);
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "forbidden");
    const consent = await queryD1<{ outcome: string; rule: string }>(
      e2e.stateDir,
      "SELECT outcome, rule FROM audit_events WHERE event = 'oauth.consent' AND principal = 'user:alice@example.com' AND client_id = 'gatehouse-console'",
    );
    expect(consent).toContainEqual({ outcome: "denied", rule: "nothing_granted" });
    const console = await queryD1<{ outcome: string; rule: string }>(e2e.stateDir, "SELECT outcome, rule FROM audit_events WHERE event = 'console.access' AND rule = 'sign_in_access_denied'");
    expect(console).toContainEqual({ outcome: "denied", rule: "sign_in_access_denied" });
    await context.close();
  });
});
