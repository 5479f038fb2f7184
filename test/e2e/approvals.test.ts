import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { connectClient, devToken } from "../support/mcp-client";
import { jwtPayload, queryD1 } from "../support/d1";
import { devPost } from "../../local/stack";
import { gatehouseCli } from "../support/gatehouse-cli";

const e2e = inject("e2e");

type CallResult = { isError?: boolean; content: Array<{ text?: string }>; structuredContent?: { rows: unknown[][]; approval?: { id: string; status: string } } };
const text = (r: CallResult) => r.content.map((c) => c.text ?? "").join("\n");

async function stageOf(id: number): Promise<string> {
  const client = new pg.Client(e2e.pg.superuserUrl.replace(/\/postgres$/, "/gatehouse"));
  await client.connect();
  try {
    return (await client.query<{ stage: string }>("SELECT stage FROM sales.opportunities WHERE id = $1", [id])).rows[0]!.stage;
  } finally {
    await client.end();
  }
}

async function approverApi(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${e2e.workerUrl}/admin/api/approvals${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

let wesToken: string;
let wes: Client;
let maria: string;
beforeAll(async () => {
  wesToken = await devToken(e2e, { user: "wes@example.com" });
  wes = await connectClient(e2e.mcpUrl, wesToken);
  maria = await devToken(e2e, { user: "maria@example.com", scope: "gatehouse:approve" });
});
afterAll(async () => wes.close());
afterEach(async () => void (await devPost(e2e, "/dev/clock", { offset_seconds: 0 })));

const call = (args: Record<string, unknown>) => wes.callTool({ name: "update_opportunity_stage", arguments: args }) as Promise<CallResult>;

describe("write tools behind approval: Wes requests, Maria approves", () => {
  it("lists the write tool with honest annotations on a 5-minute token", async () => {
    const t = (await wes.listTools()).tools.find((x) => x.name === "update_opportunity_stage")!;
    expect(t.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: false });
    expect(Object.keys(t.inputSchema.properties ?? {}).sort()).toEqual(["opportunity_id", "stage"]);
    const claims = jwtPayload(wesToken);
    expect(claims.scope).toBe("db:read db:write");
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
  });

  it("runs the approved statement exactly once, even for concurrent identical calls", async () => {
    expect(await stageOf(48)).toBe("proposal");
    const first = await call({ opportunity_id: 48, stage: "negotiation" });
    expect(first.isError).toBeFalsy();
    const id = first.structuredContent!.approval!.id;
    expect(text(first)).toContain(`Approval requested: request ${id}`);
    expect(text(first)).toContain("call update_opportunity_stage again with exactly the same arguments");
    const again = await call({ opportunity_id: 48, stage: "negotiation" });
    expect(again.structuredContent!.approval!.id).toBe(id);
    expect(text(again)).toMatch(/^Still waiting for approval/);
    expect(await stageOf(48)).toBe("proposal");

    const pending = await approverApi(maria, "GET", "?status=pending");
    const seen = pending.json.approvals.find((a: { id: string }) => a.id === id);
    expect(seen).toMatchObject({
      tool: "update_opportunity_stage",
      requester: "user:wes@example.com",
      arguments: { opportunity_id: 48, stage: "negotiation", owner_email: "wes@example.com" },
      status: "pending",
    });
    expect(seen.sql).toContain("UPDATE sales.opportunities SET stage = $2");
    expect((await approverApi(maria, "POST", `/${id}/approve`, { reason: "looks right" })).status).toBe(200);

    const results = await Promise.all(Array.from({ length: 6 }, () => call({ opportunity_id: 48, stage: "negotiation" })));
    const executed = results.filter((r) => !r.isError && r.structuredContent?.rows?.[0]?.[0] === 1);
    expect(executed).toHaveLength(1);
    expect(results.filter((r) => r.isError).map(text)).toEqual(Array(5).fill("This approved request was already executed (an approval runs once). Nothing was run again."));
    expect(await stageOf(48)).toBe("negotiation");
    const later = await call({ opportunity_id: 48, stage: "negotiation" });
    expect(later.isError).toBe(true);

    const after = await approverApi(maria, "GET", `/${id}`);
    expect(after.json).toMatchObject({ status: "executed", decided_by: "user:maria@example.com", reason: "looks right" });
    const audit = await queryD1<{ event: string; outcome: string; rule: string | null }>(e2e.stateDir, `SELECT event, outcome, rule FROM audit_events WHERE approval_id = '${id}' ORDER BY seq`);
    const transitions = audit.map((a) => `${a.event}:${a.outcome}:${a.rule ?? ""}`);
    expect(transitions.slice(0, 3)).toEqual(["tool.call:pending_approval:approval_requested", "tool.call:pending_approval:awaiting_decision", "approval.approved:ok:"]);
    // Then the six concurrent calls and the later one, every row linked to the request: one ran, six were refused.
    expect(transitions.slice(3).sort()).toEqual(["tool.call:ok:", ...Array(6).fill("tool.call:denied:approval:already_used")].sort());
  });

  it("files a new request for different arguments instead of reusing an approval", async () => {
    const r = await call({ opportunity_id: 48, stage: "closed_won" });
    expect(r.isError).toBeFalsy();
    expect(text(r)).toMatch(/^Approval requested/);
  });

  it("refuses a denied request with the reason recorded", async () => {
    const r = await call({ opportunity_id: 112, stage: "closed_lost" });
    const id = r.structuredContent!.approval!.id;
    expect((await approverApi(maria, "POST", `/${id}/deny`, {})).status).toBe(400); // a denial needs a reason
    expect((await approverApi(maria, "POST", `/${id}/deny`, { reason: "not yet" })).status).toBe(200);
    expect((await approverApi(maria, "POST", `/${id}/approve`)).status).toBe(409);
    const denied = await call({ opportunity_id: 112, stage: "closed_lost" });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toBe("The approver denied this request. Nothing was run; calling again files a new request.");
    expect(await stageOf(112)).toBe("proposal");
    // Reported once; the next identical call asks again.
    const again = await call({ opportunity_id: 112, stage: "closed_lost" });
    expect(text(again)).toMatch(/^Approval requested/);
    expect(again.structuredContent!.approval!.id).not.toBe(id);
  });

  it("refuses an expired request, and an approver cannot approve it late", async () => {
    const r = await call({ opportunity_id: 8, stage: "closed_won" });
    const id = r.structuredContent!.approval!.id;
    await devPost(e2e, "/dev/clock", { offset_seconds: 31 * 60 });
    // Tokens live 5 minutes: both users sign in again after the clock moves.
    const lateMaria = await devToken(e2e, { user: "maria@example.com", scope: "gatehouse:approve" });
    expect((await approverApi(lateMaria, "POST", `/${id}/approve`)).status).toBe(409);
    const lateWes = await connectClient(e2e.mcpUrl, await devToken(e2e, { user: "wes@example.com" }));
    const expired = (await lateWes.callTool({ name: "update_opportunity_stage", arguments: { opportunity_id: 8, stage: "closed_won" } })) as CallResult;
    await lateWes.close();
    expect(text(expired)).toBe("The approval for this request expired. Nothing was run; call again to ask for a new approval.");
    expect(await stageOf(8)).toBe("negotiation");
  });

  it("after an expired request has been reported, the same call files a new request that can be approved and run", async () => {
    const clock = (offset: number) => devPost(e2e, "/dev/clock", { offset_seconds: offset });
    const tester = async () => connectClient(e2e.mcpUrl, await devToken(e2e, { user: "tester@example.com", workspace: "e2e" }));
    const noop = async (client: Client) => (await client.callTool({ name: "approved_noop", arguments: { opportunity_id: 22 } })) as CallResult;
    const early = await tester();
    const stale = (await noop(early)).structuredContent!.approval!.id;
    await early.close();
    await clock(31 * 60);
    const late = await tester();
    expect(text(await noop(late))).toBe("The approval for this request expired. Nothing was run; call again to ask for a new approval.");
    const again = await noop(late);
    expect(text(again)).toMatch(/^Approval requested/);
    const fresh = again.structuredContent!.approval!.id;
    expect(fresh).not.toBe(stale);
    const approver = await devToken(e2e, { user: "approver2@example.com", workspace: "e2e", scope: "gatehouse:approve" });
    expect((await approverApi(approver, "POST", `/${stale}/approve`)).status).toBe(409);
    expect((await approverApi(approver, "POST", `/${fresh}/approve`)).status).toBe(200);
    expect((await noop(late)).structuredContent!.rows[0]![0]).toBe(1);
    await late.close();
  });

  it("refuses replays of an executed request until it expires; after that the same call files a new request", async () => {
    const clock = (offset: number) => devPost(e2e, "/dev/clock", { offset_seconds: offset });
    const tester = async () => connectClient(e2e.mcpUrl, await devToken(e2e, { user: "tester@example.com", workspace: "e2e" }));
    const noop = async (client: Client) => (await client.callTool({ name: "approved_noop", arguments: { opportunity_id: 23 } })) as CallResult;
    const now = await tester();
    const id = (await noop(now)).structuredContent!.approval!.id;
    expect((await approverApi(await devToken(e2e, { user: "approver2@example.com", workspace: "e2e", scope: "gatehouse:approve" }), "POST", `/${id}/approve`)).status).toBe(200);
    expect((await noop(now)).structuredContent!.rows[0]![0]).toBe(1);
    expect(text(await noop(now))).toBe("This approved request was already executed (an approval runs once). Nothing was run again.");
    await now.close();
    // Still within the request's 30-minute lifetime: the replay is refused.
    await clock(29 * 60);
    const later = await tester();
    expect(text(await noop(later))).toBe("This approved request was already executed (an approval runs once). Nothing was run again.");
    await later.close();
    // Past it: the identical call is a new change and asks again.
    await clock(31 * 60);
    const nextMonth = await tester();
    const again = await noop(nextMonth);
    await nextMonth.close();
    expect(text(again)).toMatch(/^Approval requested/);
    expect(again.structuredContent!.approval!.id).not.toBe(id);
  });

  it("keeps a requester from approving their own request even when they are in the approver group", async () => {
    const token = await devToken(e2e, { user: "self-approver@example.com", workspace: "e2e", scope: "db:read db:write gatehouse:approve" });
    const client = await connectClient(e2e.mcpUrl, token);
    const r = (await client.callTool({ name: "approved_noop", arguments: { opportunity_id: 5 } })) as CallResult;
    await client.close();
    const res = await approverApi(token, "POST", `/${r.structuredContent!.approval!.id}/approve`);
    expect(res.status).toBe(403);
    expect(res.json.error_description).toBe("The requester (or the admin who created the requesting task) cannot decide this request.");
  });

  it("never lets one user run another user's approval: the same arguments file a request of their own", async () => {
    const tester = await connectClient(e2e.mcpUrl, await devToken(e2e, { user: "tester@example.com", workspace: "e2e" }));
    const other = await connectClient(e2e.mcpUrl, await devToken(e2e, { user: "self-approver@example.com", workspace: "e2e" }));
    const approver = await devToken(e2e, { user: "approver2@example.com", workspace: "e2e", scope: "gatehouse:approve" });
    const mine = (await tester.callTool({ name: "approved_noop", arguments: { opportunity_id: 7 } })) as CallResult;
    expect((await approverApi(approver, "POST", `/${mine.structuredContent!.approval!.id}/approve`)).status).toBe(200);
    const theirs = (await other.callTool({ name: "approved_noop", arguments: { opportunity_id: 7 } })) as CallResult;
    expect(theirs.isError).toBeFalsy();
    expect(text(theirs)).toMatch(/^Approval requested/);
    expect(theirs.structuredContent!.approval!.id).not.toBe(mine.structuredContent!.approval!.id);
    const ran = (await tester.callTool({ name: "approved_noop", arguments: { opportunity_id: 7 } })) as CallResult;
    expect(ran.structuredContent!.rows[0]![0]).toBe(1);
    await tester.close();
    await other.close();
  });

  it("calls the approval webhook for each new request, with ids and names but no argument values", async () => {
    const r = await call({ opportunity_id: 152, stage: "closed_won" });
    const id = r.structuredContent!.approval!.id;
    let hooks: Array<Record<string, string>> = [];
    for (let i = 0; i < 50 && !hooks.some((h) => h.approval_id === id); i++) {
      hooks = (await (await fetch(`${e2e.webhookUrl}/received`)).json()) as Array<Record<string, string>>;
      if (!hooks.some((h) => h.approval_id === id)) await new Promise((res) => setTimeout(res, 100));
    }
    const hook = hooks.find((h) => h.approval_id === id);
    expect(hook).toMatchObject({ event: "approval.requested", approval_id: id, tool: "update_opportunity_stage", requester: "user:wes@example.com", approver_group: "approvers" });
    expect(JSON.stringify(hook)).not.toContain("closed_won");
  });

  it("does not let an approver outside the tool's approver group see or decide a request", async () => {
    const r = await call({ opportunity_id: 16, stage: "closed_won" });
    const outsider = await devToken(e2e, { user: "self-approver@example.com", workspace: "e2e", scope: "db:read gatehouse:approve" });
    expect((await approverApi(outsider, "POST", `/${r.structuredContent!.approval!.id}/approve`)).status).toBe(404);
  });
});

describe("approvals through the CLI", () => {
  it("lists the pending request and approves it with `gatehouse approvals`", async () => {
    const r = await call({ opportunity_id: 136, stage: "closed_won" });
    const id = r.structuredContent!.approval!.id;
    const cli = async (...args: string[]) => {
      const res = await gatehouseCli(e2e, "approvals", ...args, "--dev", "--user", "maria@example.com");
      expect(res.code, res.stderr).toBe(0);
      return res;
    };
    const list = await cli("list");
    expect(list.stdout).toContain(`${id}  pending  update_opportunity_stage  {"opportunity_id":136,"owner_email":"wes@example.com","stage":"closed_won"}  by user:wes@example.com`);
    expect((await cli("approve", id)).stdout.trim()).toBe(`${id}: approved by user:maria@example.com`);
    const done = await call({ opportunity_id: 136, stage: "closed_won" });
    expect(done.structuredContent!.rows[0]![0]).toBe(1);
    expect(await stageOf(136)).toBe("closed_won");
  });
});

describe("write limits", () => {
  it("aborts and rolls back a change over max_affected_rows", async () => {
    const client = await connectClient(e2e.mcpUrl, await devToken(e2e, { user: "tester@example.com", workspace: "e2e" }));
    const before = await Promise.all([1, 2, 3, 4].map(stageOf));
    const r = (await client.callTool({ name: "close_range", arguments: { upto: 4 } })) as CallResult;
    expect(r.isError).toBe(true);
    expect(text(r)).toBe("The change would affect more than 3 row(s), this tool's limit; it was rolled back and nothing changed.");
    expect(await Promise.all([1, 2, 3, 4].map(stageOf))).toEqual(before);
    const ok = (await client.callTool({ name: "close_range", arguments: { upto: 0 } })) as CallResult;
    expect(ok.isError).toBeFalsy();
    expect(ok.structuredContent!.rows[0]![0]).toBe(0);
    await client.close();
  });
});
