import { afterEach, describe, expect, inject, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { TestOAuthProvider } from "../support/oauth-browser";
import { devToken } from "../support/mcp-client";
import { jwtPayload, queryD1 } from "../support/d1";
import { devPost } from "../../local/stack";
import { fetchFromIp } from "../support/client-ip";

const e2e = inject("e2e");

async function setClock(offset: number): Promise<void> {
  const res = await devPost(e2e, "/dev/clock", { offset_seconds: offset });
  expect(res.status).toBe(200);
}

afterEach(async () => setClock(0));

/** The SDK's documented interactive flow: connect → 401 → discovery, DCR, authorize (user) → finishAuth → connect. */
async function signIn(provider: TestOAuthProvider): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const first = new StreamableHTTPClientTransport(new URL(e2e.mcpUrl), { authProvider: provider, fetch: fetchFromIp(provider.ip) });
  await expect(new Client({ name: "e2e", version: "1" }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  expect(provider.lastCode).toBeDefined();
  await first.finishAuth(provider.lastCode!);
  const transport = new StreamableHTTPClientTransport(new URL(e2e.mcpUrl), { authProvider: provider, fetch: fetchFromIp(provider.ip) });
  const client = new Client({ name: "e2e", version: "1" });
  await client.connect(transport);
  return { client, transport };
}

async function tokenRequest(form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${e2e.workerUrl}/token`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function mcpStatus(token: string): Promise<number> {
  const res = await fetch(e2e.mcpUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe("interactive sign-in with the MCP SDK client's OAuth provider", () => {
  it("discovers, registers, signs in through dev login and consent, and lists exactly the user's tools", async () => {
    const provider = new TestOAuthProvider({ email: "alice@example.com" });
    const { client } = await signIn(provider);
    expect(provider.info?.client_id).toMatch(/^ghcl_/);
    expect(provider.lastRedirect?.searchParams.get("iss")).toBe(e2e.workerUrl);
    expect(provider.lastConsentHtml).toContain("Gatehouse e2e");
    expect(provider.lastConsentHtml).toContain("127.0.0.1:33418");
    const tokens = provider.saved!;
    expect(tokens.scope).toBe("db:read");
    expect(tokens.expires_in).toBe(900);
    expect(tokens.refresh_token).toMatch(/^ghr_/);
    const claims = jwtPayload(tokens.access_token);
    expect(claims).toMatchObject({ sub: "user:alice@example.com", aud: e2e.mcpUrl, iss: e2e.workerUrl, ws: "demo", client_id: provider.info!.client_id });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["pipeline_coverage", "revenue_summary"]);
    await client.close();
    // The audit names the registered client, not only its id.
    let rows: Array<{ client_name: string | null }> = [];
    for (let i = 0; i < 10 && rows.length === 0; i++)
      rows = await queryD1(e2e.stateDir, `SELECT client_name FROM audit_events WHERE event = 'tools.list' AND token_jti = '${String(claims.jti).replace(/[^a-f0-9]/g, "")}'`);
    expect(rows).toEqual([{ client_name: "Gatehouse e2e" }]);
  });

  it("refreshes after the access token expires (clock moved, no sleep) and rotates the refresh token", async () => {
    const provider = new TestOAuthProvider({ email: "wes@example.com" });
    const { client } = await signIn(provider);
    const before = provider.saved!;
    await setClock(16 * 60);
    expect(await mcpStatus(before.access_token)).toBe(401);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["my_opportunities", "pipeline_coverage"]);
    const after = provider.saved!;
    expect(after.access_token).not.toBe(before.access_token);
    expect(after.refresh_token).not.toBe(before.refresh_token);
    expect(provider.authorizations).toBe(1);
    await client.close();
  });

  it("answers a benign duplicate refresh with the same pair, and revokes the session on reuse after the grace window", async () => {
    const provider = new TestOAuthProvider({ email: "alice@example.com" });
    const { client } = await signIn(provider);
    await client.close();
    const clientId = provider.info!.client_id;
    const old = provider.saved!.refresh_token!;
    const a = await tokenRequest({ grant_type: "refresh_token", refresh_token: old, client_id: clientId });
    const b = await tokenRequest({ grant_type: "refresh_token", refresh_token: old, client_id: clientId });
    expect(a.status).toBe(200);
    expect(b).toEqual(a);
    await setClock(60);
    const reuse = await tokenRequest({ grant_type: "refresh_token", refresh_token: old, client_id: clientId });
    expect(reuse).toEqual({ status: 400, body: { error: "invalid_grant", error_description: "The refresh token is invalid." } });
    // The whole session is gone: the newest refresh token and its access token stop working too.
    const newest = await tokenRequest({ grant_type: "refresh_token", refresh_token: String(a.body.refresh_token), client_id: clientId });
    expect(newest.status).toBe(400);
    expect(await mcpStatus(String(a.body.access_token))).toBe(401);
  });

  it("steps up: a granted sql-tier tool outside a read-only token's scope answers 403 insufficient_scope", async () => {
    const token = await devToken(e2e, { user: "tester@example.com", workspace: "e2e", scope: "db:read" });
    const res = await fetch(e2e.mcpUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "sql_probe", arguments: {} } }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${e2e.workerUrl}/.well-known/oauth-protected-resource/mcp", error="insufficient_scope", scope="db:read db:sql"`);
    const stepped = await devToken(e2e, { user: "tester@example.com", workspace: "e2e", scope: "db:read db:sql" });
    expect((jwtPayload(stepped).exp as number) - (jwtPayload(stepped).iat as number)).toBe(600);
  });
});

describe("task credentials (client_credentials) for automations", () => {
  it("gets a 10-minute token for the demo task with the SDK's ClientCredentialsProvider and sees only its tool", async () => {
    const provider = new ClientCredentialsProvider({ clientId: e2e.taskClient.clientId, clientSecret: e2e.taskClient.clientSecret, expectedIssuer: e2e.workerUrl });
    const client = new Client({ name: "n8n", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(e2e.mcpUrl), { authProvider: provider }));
    const tokens = provider.tokens()!;
    expect(tokens.expires_in).toBe(600);
    expect(tokens.refresh_token).toBeUndefined();
    expect(jwtPayload(tokens.access_token)).toMatchObject({ sub: "task:nightly-revenue-report", pk: "task", tools: ["revenue_summary"] });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["revenue_summary"]);
    const result = (await client.callTool({ name: "revenue_summary", arguments: {} })) as unknown as { structuredContent: { row_count: number } };
    expect(result.structuredContent.row_count).toBe(16);
    await client.close();
  });

  it("works with curl-style client_secret_post and refuses a wrong secret", async () => {
    const ok = await tokenRequest({ grant_type: "client_credentials", client_id: e2e.taskClient.clientId, client_secret: e2e.taskClient.clientSecret });
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe("db:read");
    const bad = await tokenRequest({ grant_type: "client_credentials", client_id: e2e.taskClient.clientId, client_secret: "ghs_wrong" });
    expect(bad).toEqual({ status: 401, body: { error: "invalid_client", error_description: "Client authentication failed." } });
  });
});

describe("revocation", () => {
  it("takes effect on the very next /mcp call after an admin revokes the session", async () => {
    const provider = new TestOAuthProvider({ email: "dana@example.com" });
    const { client } = await signIn(provider);
    await client.close();
    const access = provider.saved!.access_token;
    expect(await mcpStatus(access)).toBe(200);
    const admin = await devToken(e2e, { user: "admin@example.com", scope: "gatehouse:admin" });
    const sid = jwtPayload(access).sid as string;
    const revoked = await fetch(`${e2e.workerUrl}/admin/api/revocations`, {
      method: "POST",
      headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" },
      body: JSON.stringify({ kind: "session", value: sid }),
    });
    expect(revoked.status).toBe(200);
    const t0 = performance.now();
    expect(await mcpStatus(access)).toBe(401);
    console.log(`revocation → first refused call: ${(performance.now() - t0).toFixed(1)} ms (no cache: every call reads D1)`);
    const refresh = await tokenRequest({ grant_type: "refresh_token", refresh_token: provider.saved!.refresh_token!, client_id: provider.info!.client_id });
    expect(refresh.status).toBe(400);
  });
});
