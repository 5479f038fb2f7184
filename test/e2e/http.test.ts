import { describe, expect, inject, it } from "vitest";
import { devToken } from "../support/mcp-client";
import { devPost } from "../../local/stack";

const e2e = inject("e2e");

const headers = (token?: string) => ({
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
  ...(token ? { Authorization: `Bearer ${token}` } : {}),
});

describe("/mcp HTTP behaviour on wrangler dev", () => {
  it("answers 401 with the resource metadata challenge, and the metadata resolves", async () => {
    const res = await fetch(e2e.mcpUrl, { method: "POST", headers: headers(), body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate")!;
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)![1]!;
    const meta = (await (await fetch(metadataUrl)).json()) as { resource: string };
    expect(meta.resource).toBe(e2e.mcpUrl);
  });

  it("answers GET and DELETE with 405", async () => {
    const token = await devToken(e2e, { user: "alice@example.com" });
    for (const method of ["GET", "DELETE"]) expect((await fetch(e2e.mcpUrl, { method, headers: headers(token) })).status).toBe(405);
  });

  it("answers a foreign Origin with 403", async () => {
    const token = await devToken(e2e, { user: "alice@example.com" });
    const res = await fetch(e2e.mcpUrl, { method: "POST", headers: { ...headers(token), Origin: "https://evil.example" }, body: "{}" });
    expect(res.status).toBe(403);
  });

  it("answers malformed JSON with a JSON-RPC parse error and no stack trace", async () => {
    const token = await devToken(e2e, { user: "alice@example.com" });
    const res = await fetch(e2e.mcpUrl, { method: "POST", headers: headers(token), body: '{"jsonrpc": "2.0", "id": 1, "method": ' });
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(JSON.parse(body).error.code).toBe(-32700);
    expect(body).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it("refuses JSON-RPC batches (removed in MCP 2025-06-18) without running anything", async () => {
    const token = await devToken(e2e, { user: "alice@example.com" });
    const call = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "revenue_summary", arguments: {} } };
    const res = await fetch(e2e.mcpUrl, { method: "POST", headers: headers(token), body: JSON.stringify([call, { ...call, id: 2 }]) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32600);
  });

  it("accepts the bearer scheme case-insensitively and marks results no-store", async () => {
    const token = await devToken(e2e, { user: "alice@example.com" });
    const res = await fetch(e2e.mcpUrl, { method: "POST", headers: { ...headers(), Authorization: `bearer ${token}` }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("runs the README's curl flow: initialize, tools/list, tools/call", async () => {
    const token = await devToken(e2e, { user: "alice@example.com" });
    const post = (body: unknown) => fetch(e2e.mcpUrl, { method: "POST", headers: headers(token), body: JSON.stringify(body) });
    const init = await post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "1" } } });
    expect(init.status).toBe(200);
    expect(((await init.json()) as { result: { serverInfo: { name: string } } }).result.serverInfo.name).toBe("gatehouse");
    const call = await post({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "pipeline_coverage", arguments: { quarter: "2026-Q1" } } });
    const result = ((await call.json()) as { result: { structuredContent: { row_count: number; rows: unknown[][] } } }).result;
    expect(result.structuredContent.row_count).toBe(8);
    expect(result.structuredContent.rows.every((r) => r[1] === "2026-Q1")).toBe(true);
  });

  it("answers the dev endpoints only with the dev secret, and refuses unknown principals", async () => {
    const without = await fetch(`${e2e.workerUrl}/dev/token`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: "alice@example.com" }) });
    expect(without.status).toBe(404);
    expect(await without.text()).not.toContain("access_token");
    const wrong = await devPost({ workerUrl: e2e.workerUrl, devSecret: "guess" }, "/dev/token", { user: "alice@example.com" });
    expect(wrong.status).toBe(404);
    const unknown = await devPost(e2e, "/dev/token", { user: "mallory@example.com" });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe("unknown_principal");
  });
});
