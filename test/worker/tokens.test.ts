import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { generateKeyPair, SignJWT, exportJWK } from "jose";
import { ISSUER, RESOURCE, claimsFor, kidOfTestKey, mcpRequest, signRaw, tokenFor } from "./tokens";

const list = { jsonrpc: "2.0", id: 1, method: "tools/list" };

async function statusOf(token: string): Promise<{ status: number; challenge: string | null; body: string }> {
  const res = await SELF.fetch(mcpRequest(list, { token }));
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: await res.text() };
}

const now = () => Math.floor(Date.now() / 1000);

describe("access-token verification on /mcp", () => {
  it("accepts a well-formed token", async () => {
    expect((await statusOf(await tokenFor("alice@example.com"))).status).toBe(200);
  });

  const hostile: Array<[string, () => Promise<string>]> = [
    ["expired", async () => tokenFor("alice@example.com", "db:read", { iat: now() - 1000, exp: now() - 100 })],
    ["wrong audience", async () => tokenFor("alice@example.com", "db:read", { aud: "http://127.0.0.1:8787/other" })],
    ["wrong issuer", async () => tokenFor("alice@example.com", "db:read", { iss: "https://evil.example" })],
    ["lifetime over the tier TTL", async () => tokenFor("alice@example.com", "db:read", { iat: now(), exp: now() + 901 })],
    ["sql-tier token living as long as a read token", async () => tokenFor("dana@example.com", "db:read db:sql", { iat: now(), exp: now() + 900 })],
    ["issued in the future", async () => tokenFor("alice@example.com", "db:read", { iat: now() + 600, exp: now() + 900 })],
    ["empty scope", async () => tokenFor("alice@example.com", "db:read", { scope: "" })],
    ["multi-valued audience", async () => signRaw({ typ: "at+jwt" }, { ...claimsFor("alice@example.com"), aud: [RESOURCE, "https://other.example"] })],
    ["wrong typ", async () => signRaw({ typ: "JWT" }, { ...claimsFor("alice@example.com") })],
    ["no typ", async () => signRaw({}, { ...claimsFor("alice@example.com") })],
    ["unknown kid", async () => signRaw({ typ: "at+jwt", kid: "someone-else" }, { ...claimsFor("alice@example.com") })],
    [
      "forged: signed by another key with our kid",
      async () => {
        const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
        return new SignJWT({ ...claimsFor("alice@example.com") }).setProtectedHeader({ alg: "EdDSA", kid: kidOfTestKey(), typ: "at+jwt" }).sign(privateKey);
      },
    ],
    [
      "alg none",
      async () => {
        const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
        return `${enc({ alg: "none", typ: "at+jwt", kid: kidOfTestKey() })}.${enc(claimsFor("alice@example.com"))}.`;
      },
    ],
    [
      "HS256 keyed with the public key",
      async () => {
        const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
        const pub = await exportJWK(privateKey);
        const secret = new TextEncoder().encode(JSON.stringify({ kty: pub.kty, crv: pub.crv, x: pub.x }));
        return new SignJWT({ ...claimsFor("alice@example.com") }).setProtectedHeader({ alg: "HS256", kid: kidOfTestKey(), typ: "at+jwt" }).sign(secret);
      },
    ],
    ["oversized", async () => tokenFor("alice@example.com", "db:read", { groups: Array.from({ length: 400 }, (_, i) => `group-${i}`) })],
    ["garbage", async () => "not.a.token"],
  ];

  it.each(hostile)("refuses a token that is %s with 401 invalid_token", async (_name, make) => {
    const token = await make();
    const { status, challenge, body } = await statusOf(token);
    expect(status).toBe(401);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(`resource_metadata="${ISSUER}/.well-known/oauth-protected-resource/mcp"`);
    expect(body).not.toContain(token);
  });

  it("refuses a token in the query string with 400 invalid_request", async () => {
    const token = await tokenFor("alice@example.com");
    const req = mcpRequest(list, { token });
    const res = await SELF.fetch(new Request(`${RESOURCE}?access_token=${token}`, req));
    expect(res.status).toBe(400);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_request"');
    expect(await res.text()).not.toContain(token);
  });

  it("refuses a malformed Authorization header", async () => {
    const res = await SELF.fetch(mcpRequest(list, { headers: { Authorization: "Basic YWxpY2U6cHc=" } }));
    expect(res.status).toBe(400);
  });
});
