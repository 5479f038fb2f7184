import { env } from "cloudflare:test";
import { SignJWT, importJWK, type JWK } from "jose";
import { buildAccessClaims, type AccessClaims } from "../../src/oauth/claims";
import { loadKeyRing } from "../../src/oauth/keys";
import { signAccessToken } from "../../src/oauth/access-token";

export const ISSUER = "http://127.0.0.1:8787";
export const RESOURCE = `${ISSUER}/mcp`;
export const MCP_URL = RESOURCE;

export function claimsFor(email: string, scope = "db:read", overrides: Partial<AccessClaims> = {}): AccessClaims {
  const now = Math.floor(Date.now() / 1000);
  return {
    ...buildAccessClaims(
      { sub: `user:${email}`, kind: "user", email, workspace: "demo", clientId: "test-client", sessionId: `s-${email}`, scope },
      { issuer: ISSUER, resource: RESOURCE, now, jti: crypto.randomUUID() },
    ),
    ...overrides,
  };
}

export async function tokenFor(email: string, scope = "db:read", overrides: Partial<AccessClaims> = {}): Promise<string> {
  const ring = await loadKeyRing(env.SIGNING_KEY, undefined);
  return signAccessToken(claimsFor(email, scope, overrides), ring);
}

/** Signs arbitrary header and payload with the test key, for hostile-token cases. */
export async function signRaw(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const jwk = JSON.parse(env.SIGNING_KEY) as JWK;
  const key = await importJWK(jwk, "EdDSA");
  return new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", kid: jwk.kid, ...header }).sign(key);
}

export function kidOfTestKey(): string {
  return (JSON.parse(env.SIGNING_KEY) as JWK).kid as string;
}

export function mcpRequest(body: unknown, init: { token?: string; headers?: Record<string, string> } = {}): Request {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/json, text/event-stream",
    ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
    ...init.headers,
  };
  return new Request(MCP_URL, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}
