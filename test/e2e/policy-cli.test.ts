import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { gatehouseCli } from "../support/gatehouse-cli";
import { queryD1 } from "../support/d1";

const e2e = inject("e2e");
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The real CLI (bin/gatehouse.mjs) against the e2e stack, as an admin of the demo workspace (--dev). */
const gatehouse = (...args: string[]) => gatehouseCli(e2e, ...args);

const demoFile = join(ROOT, "policies/demo.yaml");
const changedFile = join(e2e.stateDir, "demo-changed.yaml");

afterAll(async () => {
  // Leave the demo workspace as the other suites expect it.
  expect((await gatehouse("policy", "apply", demoFile, "--dev")).code).toBe(0);
});

describe("gatehouse policy CLI and admin API", () => {
  it("validates strictly, naming the path and a suggestion", async () => {
    const doc = parse(await readFile(demoFile, "utf8")) as Record<string, any>;
    doc.tools.revenue_summary.limts = doc.tools.revenue_summary.limits;
    const bad = join(e2e.stateDir, "bad.yaml");
    await writeFile(bad, stringify(doc));
    const res = await gatehouse("policy", "validate", bad);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('$.tools.revenue_summary.limts: unknown key; did you mean "limits"?');
    expect((await gatehouse("policy", "validate", demoFile)).code).toBe(0);
  });

  it("diffs, applies (versioned and audited) and shows a change", async () => {
    const doc = parse(await readFile(demoFile, "utf8")) as Record<string, any>;
    doc.grants.push({ tools: ["revenue_summary"], users: ["maria@example.com"] });
    await writeFile(changedFile, stringify(doc));
    const diff = await gatehouse("policy", "diff", changedFile, "--dev");
    expect(diff.stdout.trim()).toBe("+ grant revenue_summary → user:maria@example.com");
    const before = await queryD1<{ v: number }>(e2e.stateDir, "SELECT MAX(version) AS v FROM policy_versions WHERE workspace_id = 'demo'");
    const apply = await gatehouse("policy", "apply", changedFile, "--dev");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain(`version ${before[0]!.v + 1}`);
    const shown = await gatehouse("policy", "show", "--json", "--dev");
    expect(JSON.parse(shown.stdout).grants).toContainEqual({ tools: ["revenue_summary"], users: ["maria@example.com"] });
    const audit = await queryD1<{ principal: string; detail: string }>(e2e.stateDir, "SELECT principal, detail FROM audit_events WHERE event = 'policy.applied' ORDER BY seq DESC LIMIT 1");
    expect(audit[0]).toMatchObject({ principal: "user:admin@example.com" });
    expect(audit[0]!.detail).toMatch(new RegExp(`^version ${before[0]!.v + 1} [0-9a-f]{16}: 1 change\\(s\\)$`));
  });

  it("holds a write-widening apply for a second admin: the proposer cannot approve it, admin2 can, once", async () => {
    const doc = parse(await readFile(demoFile, "utf8")) as Record<string, any>;
    doc.grants.push({ tools: ["update_opportunity_stage"], users: ["dana@example.com"] });
    const widened = join(e2e.stateDir, "demo-widened.yaml");
    await writeFile(widened, stringify(doc));
    const before = await queryD1<{ v: number }>(e2e.stateDir, "SELECT MAX(version) AS v FROM policy_versions WHERE workspace_id = 'demo'");
    const held = await gatehouse("policy", "apply", widened, "--dev");
    expect(held.code).toBe(0);
    expect(held.stdout).toContain("why: grants write tool update_opportunity_stage to user:dana@example.com");
    const id = /proposal ([0-9a-f]+)/.exec(held.stdout)![1]!;
    expect((await gatehouse("proposals", "list", "--dev")).stdout).toContain(id);
    const own = await gatehouse("proposals", "approve", id, "--dev");
    expect(own.code).toBe(1);
    expect(own.stderr).toContain("another admin must approve it");
    const approved = await gatehouse("proposals", "approve", id, "--dev", "--user", "admin2@example.com");
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`${id}: applied by user:admin2@example.com (workspace demo version ${before[0]!.v + 1})`);
    expect((await gatehouse("proposals", "approve", id, "--dev", "--user", "admin2@example.com")).stderr).toContain("already applied");
  });

  it("refuses an apply without an admin token", async () => {
    const res = await gatehouse("policy", "apply", demoFile);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("GATEHOUSE_TOKEN");
  });
});
