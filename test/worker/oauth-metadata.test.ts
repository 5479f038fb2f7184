import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JWK } from "jose";
import { ORIGIN, RESOURCE, get, readJson } from "./oauth-helpers";

describe("discovery documents", () => {
  it.each(["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"])("serves protected-resource metadata at %s (RFC 9728)", async (path) => {
    const { status, body } = await readJson(await get(path));
    expect(status).toBe(200);
    expect(body.resource).toBe(RESOURCE);
    expect(body.authorization_servers).toEqual([ORIGIN]);
    expect(body.bearer_methods_supported).toEqual(["header"]);
    expect(body.scopes_supported).toEqual(expect.arrayContaining(["db:read"]));
  });

  it("serves the same protected-resource metadata at both paths", async () => {
    const a = await readJson(await get("/.well-known/oauth-protected-resource"));
    const b = await readJson(await get("/.well-known/oauth-protected-resource/mcp"));
    expect(a.body).toEqual(b.body);
  });

  it("serves authorization-server metadata (RFC 8414): S256 only, grants, auth methods, endpoints", async () => {
    const { status, body } = await readJson(await get("/.well-known/oauth-authorization-server"));
    expect(status).toBe(200);
    expect(body.issuer).toBe(ORIGIN);
    expect(body.authorization_endpoint).toBe(`${ORIGIN}/authorize`);
    expect(body.token_endpoint).toBe(`${ORIGIN}/token`);
    expect(body.registration_endpoint).toBe(`${ORIGIN}/register`);
    expect(body.revocation_endpoint).toBe(`${ORIGIN}/revoke`);
    expect(body.jwks_uri).toBe(`${ORIGIN}/.well-known/jwks.json`);
    expect(body.code_challenge_methods_supported).toEqual(["S256"]);
    expect(body.response_types_supported).toEqual(["code"]);
    expect([...(body.grant_types_supported as string[])].sort()).toEqual(["authorization_code", "client_credentials", "refresh_token"]);
    expect([...(body.token_endpoint_auth_methods_supported as string[])].sort()).toEqual(["client_secret_basic", "client_secret_post", "none"]);
    expect(body.scopes_supported).toEqual(expect.arrayContaining(["db:read", "db:sql", "db:write", "gatehouse:admin"]));
    expect(body.authorization_response_iss_parameter_supported).toBe(true);
  });

  it("publishes the test key's public part only in the JWKS", async () => {
    const res = await get("/.well-known/jwks.json");
    const { status, body, text } = await readJson(res);
    expect(status).toBe(200);
    const mine = JSON.parse(env.SIGNING_KEY) as JWK;
    const keys = body.keys as JWK[];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", x: mine.x, kid: mine.kid, alg: "EdDSA", use: "sig" });
    for (const k of keys) for (const privateMember of ["d", "p", "q", "dp", "dq", "qi", "k"]) expect(k).not.toHaveProperty(privateMember);
    expect(text).not.toContain(mine.d as string);
  });
});
