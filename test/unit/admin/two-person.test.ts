import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { validatePolicy } from "../../../src/policy/validate";
import { compilePolicy, type CompiledPolicy } from "../../../src/policy/compile";
import { checkDecision, policyHoldReasons, proposalState, taskHoldReasons, type ProposalView } from "../../../src/admin/two-person";

type Doc = Record<string, any>;
const demo = (): Doc => parse(readFileSync(new URL("../../../policies/demo.yaml", import.meta.url), "utf8")) as Doc;

async function compiled(doc: Doc): Promise<CompiledPolicy> {
  const checked = validatePolicy(doc);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  return compilePolicy(checked.policy);
}

/** The hold reasons of applying `edit(demo)` over the demo policy. */
async function reasonsFor(edit: (d: Doc) => void): Promise<string[]> {
  const after = demo();
  edit(after);
  return policyHoldReasons(await compiled(demo()), await compiled(after));
}

const writeTool = (d: Doc) => d.tools.update_opportunity_stage;

describe("two-person rule: which policy changes are held", () => {
  it("holds nothing for the first policy of a workspace, or for an unchanged one", async () => {
    expect(policyHoldReasons(undefined, await compiled(demo()))).toEqual([]);
    expect(await reasonsFor(() => undefined)).toEqual([]);
  });

  it.each<[string, (d: Doc) => void]>([
    ["reworded descriptions", (d) => (writeTool(d).description += " (reworded)")],
    [
      "a new read tool granted to everyone",
      (d) => {
        d.tools.revenue_copy = { ...d.tools.revenue_summary };
        d.grants.push({ tools: ["revenue_copy"], groups: ["sales-ops", "account-executives"] });
      },
    ],
    ["a write grant withdrawn", (d) => (d.grants[2].tools = ["pipeline_coverage", "my_opportunities"])],
    ["max_affected_rows lowered", (d) => (writeTool(d).limits.max_affected_rows = 1)],
    ["a write tool's rate limit changed", (d) => (writeTool(d).limits.rate_per_minute = 10)],
    ["a user removed", (d) => (d.users = d.users.filter((u: Doc) => u.email !== "wes@example.com"))],
    ["a user added to a group without write grants", (d) => d.users.push({ email: "erin@example.com", groups: ["sales-ops"] })],
  ])("applies at once: %s", async (_, edit) => {
    expect(await reasonsFor(edit)).toEqual([]);
  });

  const held: Array<[string, (d: Doc) => void, string[]?]> = [
    [
      "a new write tool",
      (d) => {
        d.tools.close_opportunity = { ...writeTool(d) };
      },
      ["adds write tool close_opportunity"],
    ],
    ["a write tool granted to another group", (d) => d.grants.push({ tools: ["update_opportunity_stage"], groups: ["sales-ops"] }), ["grants write tool update_opportunity_stage to group:sales-ops"]],
    [
      "a write tool granted to a user directly",
      (d) => d.grants.push({ tools: ["update_opportunity_stage"], users: ["alice@example.com"] }),
      ["grants write tool update_opportunity_stage to user:alice@example.com"],
    ],
    [
      "a user added to a group holding a write tool",
      (d) => d.users.push({ email: "erin@example.com", groups: ["account-executives"] }),
      ["adds user:erin@example.com to group account-executives, which holds write tool(s) update_opportunity_stage"],
    ],
    ["max_affected_rows raised", (d) => (writeTool(d).limits.max_affected_rows = 50), ["raises max_affected_rows of update_opportunity_stage from 1 to 50"]],
    [
      "approval no longer required",
      (d) => {
        writeTool(d).requires_approval = false;
        delete writeTool(d).approver_group;
      },
      ["changes what write tool update_opportunity_stage runs: requiresApproval, approverGroup"],
    ],
    [
      "the identity binding dropped from the statement",
      (d) => {
        writeTool(d).sql = "UPDATE sales.opportunities SET stage = $2 WHERE id = $1 RETURNING id, stage";
        writeTool(d).identity = {};
        writeTool(d).bind = ["opportunity_id", "stage"];
      },
      ["changes what write tool update_opportunity_stage runs: sql, bind, identity"],
    ],
    [
      "a read tool moved to another credential",
      (d) => {
        d.database_roles.reporting2 = { tier: "read", secret: "DB_URL_REPORTING_TWO" };
        d.tools.revenue_summary.database_role = "reporting2";
      },
      ["tool revenue_summary moves from credential DB_URL_REPORTING (read) to DB_URL_REPORTING_TWO (read)"],
    ],
    ["a role's secret changed under every tool on it", (d) => (d.database_roles.writer.secret = "DB_URL_WRITER_ALL")],
  ];
  const moved = ["tool update_opportunity_stage moves from credential DB_URL_WRITER (write) to DB_URL_WRITER_ALL (write)"];
  it.each(held.map(([name, edit, want]): [string, (d: Doc) => void, string[]] => [name, edit, want ?? moved]))("holds: %s", async (_, edit, want) => {
    expect(await reasonsFor(edit)).toEqual(want);
  });

  it("holds an extended or removed expiry of a write grant, not a shortened one", async () => {
    const withExpiry = (at: string | undefined) => (d: Doc) => {
      d.grants[2] = { tools: ["pipeline_coverage", "my_opportunities"], groups: ["account-executives"] };
      d.grants.push({ tools: ["update_opportunity_stage"], groups: ["account-executives"], ...(at ? { expires: at } : {}) });
    };
    const base = demo();
    withExpiry("2027-01-01T00:00:00Z")(base);
    const from = await compiled(base);
    const to = async (at: string | undefined) => {
      const d = demo();
      withExpiry(at)(d);
      return policyHoldReasons(from, await compiled(d));
    };
    expect(await to("2026-12-01T00:00:00Z")).toEqual([]);
    expect(await to("2027-06-01T00:00:00Z")).toEqual(["extends the grant of write tool update_opportunity_stage to group:account-executives until 2027-06-01T00:00:00.000Z"]);
    expect(await to(undefined)).toEqual(["extends the grant of write tool update_opportunity_stage to group:account-executives until no expiry"]);
  });

  it("holds a new admin once the workspace has two; a sole admin adds the second at once", async () => {
    expect(await reasonsFor((d) => d.users.push({ email: "boss@example.com", groups: ["admins"] }))).toEqual(["adds user:boss@example.com to admins"]);
    const sole = demo();
    sole.users = sole.users.filter((u: Doc) => u.email !== "admin2@example.com");
    const second = demo();
    second.users = [...sole.users, { email: "boss@example.com", groups: ["admins"] }];
    expect(policyHoldReasons(await compiled(sole), await compiled(second))).toEqual([]);
  });

  it("holds a task client that may call a write tool", async () => {
    const tools = new Map((await compiled(demo())).tools.map((t) => [t.name, t]));
    expect(taskHoldReasons(["revenue_summary"], tools)).toEqual([]);
    expect(taskHoldReasons(["revenue_summary", "update_opportunity_stage"], tools)).toEqual(["the task client may call write tool update_opportunity_stage"]);
  });
});

describe("two-person rule: proposal lifecycle", () => {
  const NOW = 1_800_000_000;
  const p: ProposalView = { workspace_id: "demo", proposer: "user:admin@example.com", state: "pending", expires_at: NOW + 60, base_version: 7 };
  const other = { id: "user:admin2@example.com", workspace: "demo" };

  it("expires a pending proposal at its expiry, and only a pending one", () => {
    expect(proposalState(p, NOW)).toBe("pending");
    expect(proposalState(p, NOW + 60)).toBe("expired");
    expect(proposalState({ ...p, state: "applied" }, NOW + 3600)).toBe("applied");
  });

  it("lets another admin of the workspace approve while the policy is at the proposal's version", () => {
    expect(checkDecision(p, other, "approve", NOW, 7)).toEqual({ ok: true });
  });

  it("never lets the proposer approve, but lets them withdraw", () => {
    expect(checkDecision(p, { id: p.proposer, workspace: "demo" }, "approve", NOW, 7)).toEqual({ ok: false, kind: "own_proposal" });
    expect(checkDecision(p, { id: p.proposer, workspace: "demo" }, "deny", NOW, 7)).toEqual({ ok: true });
  });

  it("refuses an approval once the policy moved on (a denial still closes it)", () => {
    expect(checkDecision(p, other, "approve", NOW, 8)).toEqual({ ok: false, kind: "stale", base: 7, head: 8 });
    expect(checkDecision(p, other, "deny", NOW, 8)).toEqual({ ok: true });
  });

  it("refuses a decided, expired or foreign proposal", () => {
    expect(checkDecision({ ...p, state: "applied" }, other, "approve", NOW, 7)).toEqual({ ok: false, kind: "not_pending", state: "applied" });
    expect(checkDecision(p, other, "approve", NOW + 61, 7)).toEqual({ ok: false, kind: "not_pending", state: "expired" });
    expect(checkDecision(p, { ...other, workspace: "tenant-b" }, "approve", NOW, 7)).toEqual({ ok: false, kind: "not_found" });
    expect(checkDecision(null, other, "approve", NOW, 7)).toEqual({ ok: false, kind: "not_found" });
  });
});
