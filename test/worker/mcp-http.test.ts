import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MCP_URL, mcpRequest, tokenFor } from "./tokens";

const list = { jsonrpc: "2.0", id: 1, method: "tools/list" };

async function toolNames(email: string, scope = "db:read"): Promise<string[]> {
  const res = await SELF.fetch(mcpRequest(list, { token: await tokenFor(email, scope) }));
  expect(res.status).toBe(200);
  const body = (await res.json()) as { result: { tools: Array<{ name: string }> } };
  return body.result.tools.map((t) => t.name).sort();
}

describe("/mcp over HTTP", () => {
  it("answers 401 with a resource_metadata challenge when no token is sent", async () => {
    const res = await SELF.fetch(mcpRequest(list));
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer resource_metadata="http://127.0.0.1:8787/.well-known/oauth-protected-resource/mcp"');
  });

  it.each(["GET", "DELETE"])("answers %s with 405 and Allow: POST", async (method) => {
    const res = await SELF.fetch(MCP_URL, { method, headers: { Authorization: `Bearer ${await tokenFor("alice@example.com")}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("refuses a foreign Origin with 403 and accepts none", async () => {
    const token = await tokenFor("alice@example.com");
    expect((await SELF.fetch(mcpRequest(list, { token, headers: { Origin: "https://evil.example" } }))).status).toBe(403);
    expect((await SELF.fetch(mcpRequest(list, { token, headers: { Origin: "http://127.0.0.1:8787" } }))).status).toBe(200);
    expect((await SELF.fetch(mcpRequest(list, { token }))).status).toBe(200);
  });

  it("refuses a foreign Host with 403", async () => {
    const token = await tokenFor("alice@example.com");
    const res = await SELF.fetch(new Request("http://evil.example/mcp", mcpRequest(list, { token })));
    expect(res.status).toBe(403);
  });

  it("answers 406 without the required Accept types and 415 for a non-JSON body", async () => {
    const token = await tokenFor("alice@example.com");
    expect((await SELF.fetch(mcpRequest(list, { token, headers: { Accept: "text/html" } }))).status).toBe(406);
    expect((await SELF.fetch(mcpRequest(list, { token, headers: { "Content-Type": "text/plain" } }))).status).toBe(415);
  });

  it("answers malformed JSON with a JSON-RPC parse error, not a 500", async () => {
    const res = await SELF.fetch(mcpRequest("{not json", { token: await tokenFor("alice@example.com") }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: number } };
    expect(body.error.code).toBe(-32700);
  });

  it("lists exactly the tools each demo user is granted", async () => {
    expect(await toolNames("alice@example.com")).toEqual(["pipeline_coverage", "revenue_summary"]);
    expect(await toolNames("wes@example.com")).toEqual(["my_opportunities", "pipeline_coverage"]);
    expect(await toolNames("maria@example.com")).toEqual([]);
  });

  it("refuses a validly signed token for someone the workspace's policy does not list", async () => {
    const res = await SELF.fetch(mcpRequest(list, { token: await tokenFor("nobody@example.com") }));
    expect(res.status).toBe(401);
  });

  it("describes tools with title, schemas and honest annotations, hiding identity-bound parameters", async () => {
    const res = await SELF.fetch(mcpRequest(list, { token: await tokenFor("wes@example.com") }));
    const body = (await res.json()) as { result: { tools: Array<Record<string, any>> } };
    const mine = body.result.tools.find((t) => t.name === "my_opportunities")!;
    expect(mine.title).toBe("My opportunities");
    expect(Object.keys(mine.inputSchema.properties)).toEqual(["stage"]);
    expect(mine.inputSchema.additionalProperties).toBe(false);
    expect(mine.outputSchema.required).toContain("truncated");
    expect(mine.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
  });

  it("does not let a caller call a tool it is not granted", async () => {
    const call = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "my_opportunities", arguments: {} } };
    const res = await SELF.fetch(mcpRequest(call, { token: await tokenFor("alice@example.com") }));
    const body = (await res.json()) as { error?: { code: number; message: string } };
    expect(body.error?.code).toBe(-32602);
    expect(body.error?.message).toContain("Unknown tool");
  });
});
