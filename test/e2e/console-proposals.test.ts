import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import AxeBuilder from "@axe-core/playwright";
import type { Browser, Page } from "playwright-core";
import { launchChromium, watchPage } from "../support/browser";
import { devToken } from "../support/mcp-client";
import { queryD1 } from "../support/d1";
import { ROOT } from "../../local/wrangler";

/**
 * The two-person rule in a real Chromium (docs/console.md "Proposals"): admin@example.com uploads a policy that grants
 * Alice the write tool, previews it (held), proposes it and cannot approve it herself; admin2@example.com approves
 * it from a second browser context, and Alice's tools/list then shows the tool. Also the task client form with its
 * secret shown once. axe-core on every new page; screenshots in test-results/console/.
 */
const e2e = inject("e2e");
const SHOTS = join(ROOT, "test-results/console");
const demoFile = join(ROOT, "policies/demo.yaml");

async function axeProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}`));
}
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** Dev login as `email`, ticking Administer on the consent page. */
async function signInAdmin(page: Page, email: string): Promise<void> {
  await page.locator(`button[name="email"][value="${email}"]`).click();
  await page.locator('input[name="scope"][value="gatehouse:admin"]').check();
  await page.locator('button[name="decision"][value="allow"]').click();
  await page.waitForLoadState();
}

async function aliceTools(): Promise<string[]> {
  const token = await devToken(e2e, { user: "alice@example.com", scope: "db:read db:write" });
  const res = await fetch(e2e.mcpUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  return ((await res.json()) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name);
}

let browser: Browser;
beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  // Leave the demo workspace as the other suites expect it (withdrawing a grant applies at once).
  const admin = await devToken(e2e, { user: "admin@example.com", scope: "gatehouse:admin" });
  const res = await fetch(`${e2e.workerUrl}/admin/api/policy`, {
    method: "POST",
    headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" },
    body: JSON.stringify(parse(await readFile(demoFile, "utf8"))),
  });
  expect(res.status).toBe(200);
});

// Two browser contexts, two sign-ins and axe on five pages: more than the suite's default minute on a loaded machine.
describe("console: the two-person rule", { timeout: 180_000 }, () => {
  it("admin proposes a write-widening policy in the console, a second admin approves it in another browser, and the grant takes effect", async () => {
    expect(await aliceTools()).not.toContain("update_opportunity_stage");
    const doc = parse(await readFile(demoFile, "utf8")) as Record<string, any>;
    doc.grants.push({ tools: ["update_opportunity_stage"], users: ["alice@example.com"] });

    const first = await browser.newContext({ extraHTTPHeaders: { "cf-connecting-ip": "198.18.10.1" } });
    const page = await first.newPage();
    const watch = watchPage(page);
    await page.goto(`${e2e.workerUrl}/console/policy`);
    await signInAdmin(page, "admin@example.com");
    expect(new URL(page.url()).pathname).toBe("/console/policy");
    await page.getByLabel("Policy YAML").fill(stringify(doc));
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "policy-upload");
    await page.getByRole("button", { name: "Validate and preview" }).click();
    await page.waitForLoadState();
    expect(await page.locator("[data-diff]").textContent()).toContain("+ grant update_opportunity_stage → user:alice@example.com");
    expect(await page.locator("[data-held]").textContent()).toContain("grants write tool update_opportunity_stage to user:alice@example.com");
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "policy-preview-held");

    await page.getByRole("button", { name: "Propose for approval" }).click();
    await page.waitForLoadState();
    const proposalUrl = page.url().replace(/\?.*$/, "");
    expect(new URL(proposalUrl).pathname).toMatch(/^\/console\/proposals\/[0-9a-f]+$/);
    expect(await page.locator("[data-state]").getAttribute("data-state")).toBe("pending");
    // The proposer is offered no Approve button, only Withdraw.
    expect(await page.getByRole("button", { name: "Approve and apply" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Withdraw" }).count()).toBe(1);
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "proposal-pending-proposer");
    expect(await aliceTools()).not.toContain("update_opportunity_stage");

    // A second admin, in a second browser context, finds it in the list and approves it.
    const second = await browser.newContext({ extraHTTPHeaders: { "cf-connecting-ip": "198.18.10.2" } });
    const page2 = await second.newPage();
    const watch2 = watchPage(page2);
    await page2.goto(`${e2e.workerUrl}/console/proposals`);
    await signInAdmin(page2, "admin2@example.com");
    expect(new URL(page2.url()).pathname).toBe("/console/proposals");
    const id = new URL(proposalUrl).pathname.split("/").pop()!;
    expect(await page2.locator(`tr[data-proposal="${id}"]`).count()).toBe(1);
    expect(await axeProblems(page2)).toEqual([]);
    await shot(page2, "proposals");
    await page2.locator(`tr[data-proposal="${id}"] a`).click();
    await page2.waitForLoadState();
    expect(await axeProblems(page2)).toEqual([]);
    await shot(page2, "proposal-pending-approver");
    await page2.getByRole("button", { name: "Approve and apply" }).click();
    await page2.waitForLoadState();
    expect(await page2.locator("[data-state]").getAttribute("data-state")).toBe("applied");
    await shot(page2, "proposal-applied");

    expect(await aliceTools()).toContain("update_opportunity_stage");
    const audit = await queryD1<{ event: string; principal: string }>(e2e.stateDir, `SELECT event, principal FROM audit_events WHERE approval_id = '${id}' ORDER BY seq`);
    expect(audit).toEqual([
      { event: "proposal.created", principal: "user:admin@example.com" },
      { event: "proposal.approved", principal: "user:admin2@example.com" },
      { event: "policy.applied", principal: "user:admin@example.com" },
    ]);
    expect(watch.problems).toEqual([]);
    expect(watch2.problems).toEqual([]);
    await first.close();
    await second.close();
  });

  it("creates a task client in the console and shows its secret once", async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { "cf-connecting-ip": "198.18.10.3" } });
    const page = await context.newPage();
    await page.goto(`${e2e.workerUrl}/console/sessions`);
    await signInAdmin(page, "admin@example.com");
    await page.getByLabel("Task", { exact: true }).selectOption("nightly-revenue-report");
    await page.getByLabel("Name").fill("Console-made report");
    await page.getByRole("checkbox", { name: /^revenue_summary/ }).check();
    await page.getByRole("button", { name: "Create task client" }).click();
    await page.waitForLoadState();
    expect(await page.locator("h1").textContent()).toBe("Task client created");
    const clientId = (await page.locator("[data-client-id]").textContent())!;
    const secret = (await page.locator("[data-client-secret]").textContent())!;
    expect(secret).toMatch(/^ghs_/);
    expect(await axeProblems(page)).toEqual([]);
    await shot(page, "task-created");
    const token = await fetch(`${e2e.workerUrl}/token`, {
      method: "POST",
      headers: { Authorization: `Basic ${btoa(`${clientId}:${secret}`)}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&scope=db:read",
    });
    expect(token.status).toBe(200);
    await page.goto(`${e2e.workerUrl}/console/sessions`);
    expect(await page.content()).not.toContain(secret);
    // The new client's row, with Rotate secret and Revoke (each button's name includes its visible text).
    expect(await page.locator(`tr[data-task="${clientId}"]`).count()).toBe(1);
    expect(await axeProblems(page)).toEqual([]);
    await page.locator(`tr[data-task="${clientId}"]`).getByRole("button", { name: "Rotate secret" }).click();
    await page.waitForLoadState();
    expect(await page.locator("h1").textContent()).toBe("Secret rotated");
    expect(await page.locator("[data-client-secret]").textContent()).not.toBe(secret);
    await shot(page, "task-secret-rotated");
    await context.close();
  });
});
