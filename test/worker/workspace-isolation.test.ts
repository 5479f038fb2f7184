import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { validatePolicy } from "../../src/policy/validate";
import { compilePolicy } from "../../src/policy/compile";
import { applyCompiledPolicy } from "../../src/policy/store-d1";
import { basic, exchange, expectRedirect, expectTokens, login, mcpStatus, postConsent, postForm, postJson, readJson, refresh, registerClient, startAuthorize, taskClient } from "./oauth-helpers";
import { mcpRequest, tokenFor } from "./tokens";

// Workspaces share one D1 and one set of rate-limit namespaces, and principal ids are the same string in each
// ("user:alice@example.com", "task:nightly-revenue-report"). Nothing one workspace's admin or callers do may reach
// another workspace: revocations, rate-limit buckets and membership are all keyed by workspace.

type Doc = Record<string, any>;

/** A copy of the demo policy under another workspace name, with the admin `boss@<ws>.example` and `edit` applied. */
function policyFor(workspace: string, edit: (doc: Doc) => void = () => {}): Doc {
  const doc = parse(demoPolicy) as Doc;
  doc.workspace = workspace;
  doc.users = [...(doc.users as Doc[]).filter((u) => u.email !== "admin@example.com"), { email: `boss@${workspace}.example`, groups: ["admins"] }];
  edit(doc);
  return doc;
}

async function apply(doc: Doc): Promise<void> {
  const checked = validatePolicy(doc);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  await applyCompiledPolicy(env.DB, await compilePolicy(checked.policy), JSON.stringify(checked.policy), "test", new Date());
}

const suffix = crypto.randomUUID().slice(0, 8);
const B = `other-${suffix}`;

const adminOf = (workspace: string) => tokenFor(`boss@${workspace}.example`, "gatehouse:admin", { ws: workspace });
const revoke = async (token: string, body: unknown) => readJson(await postJson("/admin/api/revocations", body, { Authorization: `Bearer ${token}` }));

async function callTool(token: string, name: string): Promise<{ isError?: boolean; text: string }> {
  const res = await SELF.fetch(mcpRequest({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: {} } }, { token }));
  expect(res.status).toBe(200);
  const body = (await res.json()) as { result?: { isError?: boolean; content: Array<{ text: string }> } };
  return { ...(body.result?.isError ? { isError: true } : {}), text: body.result?.content.map((c) => c.text).join("\n") ?? JSON.stringify(body) };
}

beforeAll(async () => {
  await apply(policyFor(B));
});

describe("workspace isolation", () => {
  it("an admin revoking alice in its workspace leaves her token in the demo workspace working", async () => {
    const demo = await tokenFor("alice@example.com", "db:read", { ws: "demo", sid: `s-demo-${suffix}` });
    const other = await tokenFor("alice@example.com", "db:read", { ws: B, sid: `s-b-${suffix}` });
    expect(await mcpStatus(demo)).toBe(200);
    expect(await mcpStatus(other)).toBe(200);
    const res = await revoke(await adminOf(B), { kind: "user", value: "alice@example.com" });
    expect(res.status, res.text).toBe(200);
    expect(await mcpStatus(other)).toBe(401);
    expect(await mcpStatus(demo)).toBe(200);
  });

  it("revoking another workspace's task of the same name does not refuse the demo task client", async () => {
    const t = await taskClient();
    const issue = () => postForm("/token", { grant_type: "client_credentials" }, { Authorization: basic(t.clientId, t.secret) });
    const { access_token: token } = (await (await issue()).json()) as { access_token: string };
    expect(await mcpStatus(token)).toBe(200);
    const res = await revoke(await adminOf(B), { kind: "task", value: "nightly-revenue-report" });
    expect(res.status, res.text).toBe(200);
    expect(await mcpStatus(token)).toBe(200);
    const again = await issue();
    expect(again.status, await again.clone().text()).toBe(200);
    expect(await mcpStatus(((await again.json()) as { access_token: string }).access_token)).toBe(200);
  });

  it("an admin's token revocation reaches only its own workspace's tokens", async () => {
    const demo = await tokenFor("dana@example.com", "db:read", { ws: "demo", sid: `s-dana-${suffix}`, jti: `jti-dana-${suffix}` });
    expect(await mcpStatus(demo)).toBe(200);
    expect((await revoke(await adminOf(B), { kind: "token", value: `jti-dana-${suffix}` })).status).toBe(200);
    expect(await mcpStatus(demo)).toBe(200);
  });

  it("revoking a client in one workspace ends its sessions there only; the registration stays for the other", async () => {
    const clientId = await registerClient();
    const signInTo = async (workspace: string) => {
      const flow = await startAuthorize({ clientId });
      await login(flow, "wes@example.com");
      const { params } = expectRedirect(await postConsent(flow, { workspace, scopes: ["db:read"] }), flow.redirectUri);
      return expectTokens(await exchange({ ...flow, code: params.get("code")! }));
    };
    const inDemo = await signInTo("demo");
    const inB = await signInTo(B);
    const res = await revoke(await adminOf(B), { kind: "client", value: clientId });
    expect(res.status, res.text).toBe(200);
    expect(await mcpStatus(inB.access_token)).toBe(401);
    expect(await mcpStatus(inDemo.access_token)).toBe(200);
    const next = await expectTokens(await refresh(clientId, inDemo.refresh_token));
    expect(await mcpStatus(next.access_token)).toBe(200);
  });

  it("one workspace's calls do not use up another's rate limit for the same principal and tool", async () => {
    // Two fresh workspaces, so no other case has touched these buckets; revenue_summary allows 10 calls a minute.
    const A = `rl-a-${suffix}`;
    const C = `rl-b-${suffix}`;
    const tenPerMinute = (doc: Doc) => {
      doc.tools.revenue_summary.limits.rate_per_minute = 10;
    };
    await apply(policyFor(A, tenPerMinute));
    await apply(policyFor(C, tenPerMinute));
    const inA = await tokenFor("dana@example.com", "db:read", { ws: A });
    const inC = await tokenFor("dana@example.com", "db:read", { ws: C });
    for (let i = 0; i < 10; i++) expect((await callTool(inC, "revenue_summary")).text).not.toMatch(/^Rate limit reached/);
    expect((await callTool(inC, "revenue_summary")).text).toMatch(/^Rate limit reached/);
    expect((await callTool(inA, "revenue_summary")).text).not.toMatch(/^Rate limit reached/);
  });
});
