import { createHash, randomBytes } from "node:crypto";

/** The client side of an authorization-code flow with PKCE S256 (RFC 7636), as an MCP client runs it. */
export interface PkcePair {
  verifier: string;
  challenge: string;
}

export function newPkce(): PkcePair {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export interface TokenSet {
  access_token: string;
  refresh_token?: string;
  scope: string;
  expires_in: number;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** POST /register with exactly the body a client sends; returns the client id or throws with the answer. */
export async function registerAs(workerUrl: string, body: Record<string, unknown>, headers: Record<string, string> = {}, doFetch: Fetch = fetch): Promise<string> {
  const res = await doFetch(`${workerUrl}/register`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`registration refused (${res.status}): ${text}`);
  return (JSON.parse(text) as { client_id: string }).client_id;
}

export function authorizeUrl(workerUrl: string, p: { clientId: string; redirectUri: string; pkce: PkcePair; state: string; scope?: string; resource?: string }): URL {
  const url = new URL(`${workerUrl}/authorize`);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", p.clientId);
  url.searchParams.set("redirect_uri", p.redirectUri);
  url.searchParams.set("code_challenge", p.pkce.challenge);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("state", p.state);
  if (p.scope !== undefined) url.searchParams.set("scope", p.scope);
  if (p.resource !== undefined) url.searchParams.set("resource", p.resource);
  return url;
}

export async function tokenRequest(workerUrl: string, form: Record<string, string | undefined>, doFetch: Fetch = fetch): Promise<TokenSet> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v);
  const res = await doFetch(`${workerUrl}/token`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: body.toString() });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`token request refused (${res.status}): ${text}`);
  return JSON.parse(text) as TokenSet;
}

/** tools/list over raw JSON-RPC (stateless streamable HTTP accepts it without initialize); the tool names, sorted. */
export async function listToolNames(mcpUrl: string, accessToken: string, doFetch: Fetch = fetch): Promise<string[]> {
  const res = await doFetch(mcpUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`tools/list answered ${res.status}: ${text.slice(0, 300)}`);
  const json = text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "{}");
  const tools = (JSON.parse(json) as { result?: { tools?: Array<{ name: string }> } }).result?.tools;
  if (!tools) throw new Error(`tools/list had no result: ${text.slice(0, 300)}`);
  return tools.map((t) => t.name).sort();
}
