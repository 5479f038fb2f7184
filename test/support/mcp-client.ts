import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { devPost, type DevTarget } from "../../local/stack";

/** Mints a token through the dev-only endpoint of a running stack. */
export async function devToken(dev: DevTarget, body: { user?: string; task?: string; workspace?: string; scope?: string; ttl?: number }): Promise<string> {
  const res = await devPost(dev, "/dev/token", body);
  const json = (await res.json()) as { access_token?: string };
  if (!res.ok || !json.access_token) throw new Error(`no token (${res.status}): ${JSON.stringify(json)}`);
  return json.access_token;
}

/** The MCP SDK client over streamable HTTP with a bearer token. */
export async function connectClient(mcpUrl: string, token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: "gatehouse-e2e", version: "1.0.0" });
  await client.connect(transport);
  return client;
}
