import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MCP_URL, tokenFor } from "./tokens";

/**
 * MCP 2026-07-28 on /mcp (stateless: no initialize, no session; version, client info and capabilities in every
 * request's `_meta`; `Mcp-Method`/`Mcp-Name` headers checked against the body), next to the 2025-era flow.
 */
const MODERN = "2026-07-28";
const envelope = { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" }, "io.modelcontextprotocol/clientCapabilities": {} };

function modern(token: string, method: string, params: Record<string, unknown> = {}, headers: Record<string, string | undefined> = {}): Request {
  const h: Record<string, string> = {
    Authorization: `Bearer ${token}`,
    "Content-Type": "application/json",
    Accept: "application/json, text/event-stream",
    "MCP-Protocol-Version": MODERN,
    "Mcp-Method": method,
  };
  if (method === "tools/call" && typeof params.name === "string") h["Mcp-Name"] = params.name;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) delete h[k];
    else h[k] = v;
  }
  return new Request(MCP_URL, { method: "POST", headers: h, body: JSON.stringify({ jsonrpc: "2.0", id: 7, method, params: { ...params, _meta: { ...envelope, ...(params._meta as object) } } }) });
}

async function json(res: Response): Promise<{ result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } }> {
  const text = await res.text();
  return JSON.parse(text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "{}"));
}

async function lastAudit(rule: string): Promise<Record<string, unknown> | null> {
  return env.DB.prepare("SELECT * FROM audit_events WHERE rule = ? ORDER BY seq DESC LIMIT 1").bind(rule).first();
}

describe("MCP 2026-07-28 requests", () => {
  it("server/discover answers the supported versions and capabilities, with a private cache hint", async () => {
    const token = await tokenFor("alice@example.com");
    const res = await SELF.fetch(modern(token, "server/discover"));
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.result?.supportedVersions).toContain(MODERN);
    expect(body.result?.capabilities).toMatchObject({ tools: {} });
    expect(body.result?.cacheScope).toBe("private");
  });

  it("tools/list without initialize: the caller's tools, cacheScope private, ttl within the token's life, the policy version", async () => {
    const token = await tokenFor("alice@example.com");
    const res = await SELF.fetch(modern(token, "tools/list"));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const result = (await json(res)).result!;
    expect((result.tools as Array<{ name: string }>).map((t) => t.name).sort()).toEqual(["pipeline_coverage", "revenue_summary"]);
    expect(result.cacheScope).toBe("private");
    expect(result.ttlMs).toBeGreaterThan(0);
    expect(result.ttlMs).toBeLessThanOrEqual(60_000);
    expect((result._meta as Record<string, unknown>)["gatehouse/policy-version"]).toBeGreaterThan(0);
  });

  it("never gives one user's list to another: each list follows its own token", async () => {
    const alice = (await json(await SELF.fetch(modern(await tokenFor("alice@example.com"), "tools/list")))).result!;
    const wes = (await json(await SELF.fetch(modern(await tokenFor("wes@example.com"), "tools/list")))).result!;
    expect((wes.tools as Array<{ name: string }>).map((t) => t.name)).toContain("my_opportunities");
    expect((alice.tools as Array<{ name: string }>).map((t) => t.name)).not.toContain("my_opportunities");
    expect(alice.cacheScope).toBe("private");
    expect(wes.cacheScope).toBe("private");
  });

  it("a ttl never longer than the token's remaining life", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await tokenFor("alice@example.com", "db:read", { iat: now - 890, exp: now + 10 });
    const result = (await json(await SELF.fetch(modern(token, "tools/list")))).result!;
    expect(result.ttlMs).toBeLessThanOrEqual(10_000);
  });

  it.each<[string, Record<string, string | undefined>, string]>([
    ["Mcp-Name naming another tool", { "Mcp-Name": "pipeline_coverage" }, "protocol:name-header-mismatch"],
    ["no Mcp-Name", { "Mcp-Name": undefined }, "protocol:name-header-missing"],
    ["no Mcp-Method", { "Mcp-Method": undefined }, "protocol:method-header-missing"],
    ["Mcp-Method naming another method", { "Mcp-Method": "tools/list" }, "protocol:method-header-mismatch"],
    ["an invalid Base64 Mcp-Name", { "Mcp-Name": "=?base64?***?=" }, "protocol:name-header-invalid-encoding"],
  ])("refuses a tools/call with %s: 400 -32020, audited, no tool runs", async (_name, headers, rule) => {
    const token = await tokenFor("alice@example.com");
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE event = 'tool.call'").first<{ n: number }>();
    const res = await SELF.fetch(modern(token, "tools/call", { name: "revenue_summary", arguments: {} }, headers));
    expect(res.status).toBe(400);
    expect((await json(res)).error?.code).toBe(-32020);
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE event = 'tool.call'").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
    await new Promise((r) => setTimeout(r, 0));
    const row = await lastAudit(rule);
    expect(row).toMatchObject({ event: "mcp.request", outcome: "denied", principal: "user:alice@example.com" });
  });

  it("refuses a modern header without the _meta envelope with 400 -32602, echoing the request id", async () => {
    const token = await tokenFor("alice@example.com");
    const res = await SELF.fetch(
      new Request(MCP_URL, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream", "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 101, method: "tools/list", params: {} }),
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { id: unknown; error: { code: number } };
    expect(body.error.code).toBe(-32602);
    expect(body.id).toBe(101);
  });

  it("answers an unsupported revision with 400 -32022 and the supported list", async () => {
    const token = await tokenFor("alice@example.com");
    const res = await SELF.fetch(modern(token, "tools/list", { _meta: { "io.modelcontextprotocol/protocolVersion": "2099-01-01" } }, { "MCP-Protocol-Version": "2099-01-01" }));
    expect(res.status).toBe(400);
    const error = (await json(res)).error!;
    expect(error.code).toBe(-32022);
    expect(JSON.stringify(error.data)).toContain(MODERN);
  });

  it("a step-up on a modern call decided from the checked Mcp-Name header: 403 insufficient_scope", async () => {
    const token = await tokenFor("dana@example.com", "db:read");
    const res = await SELF.fetch(modern(token, "tools/call", { name: "execute_sql", arguments: { sql: "SELECT 1" } }));
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  it("keeps the 2025-era flow: initialize then tools/list without an envelope", async () => {
    const token = await tokenFor("alice@example.com");
    const init = await SELF.fetch(
      new Request(MCP_URL, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "legacy", version: "1" } } }),
      }),
    );
    expect(init.status).toBe(200);
    expect(init.headers.get("content-type")).toMatch(/application\/json/);
    expect(((await json(init)).result as { protocolVersion: string }).protocolVersion).toBe("2025-06-18");
  });
});
