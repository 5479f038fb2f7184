import { describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { buildAccessClaims } from "../../../src/oauth/claims";
import { loadKeyRing } from "../../../src/oauth/keys";
import { signAccessToken, verifyAccessToken } from "../../../src/oauth/access-token";

const jwk = (kid: string) => JSON.stringify({ ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), kid });
const current = jwk("k2");
const previous = jwk("k1");
const issuer = "https://gw.example";
const resource = `${issuer}/mcp`;
const now = 1_800_000_000;
const subject = { sub: "user:alice@example.com", kind: "user" as const, workspace: "demo", clientId: "c", sessionId: "s", scope: "db:read" };

describe("access tokens", () => {
  it("verifies a token it signed and rejects it after expiry (fixed clock)", async () => {
    const ring = await loadKeyRing(current, undefined);
    const token = await signAccessToken(buildAccessClaims(subject, { issuer, resource, now, jti: "j" }), ring);
    expect(await verifyAccessToken(token, ring, { issuer, audience: resource, now: now + 899 })).toMatchObject({ ok: true });
    expect(await verifyAccessToken(token, ring, { issuer, audience: resource, now: now + 906 })).toEqual({ ok: false, failure: { kind: "expired" } });
  });

  it("accepts tokens signed by the previous key during rotation, and only while it is configured", async () => {
    const old = await loadKeyRing(previous, undefined);
    const token = await signAccessToken(buildAccessClaims(subject, { issuer, resource, now, jti: "j" }), old);
    const rotated = await loadKeyRing(current, previous);
    expect(await verifyAccessToken(token, rotated, { issuer, audience: resource, now })).toMatchObject({ ok: true });
    const done = await loadKeyRing(current, undefined);
    expect(await verifyAccessToken(token, done, { issuer, audience: resource, now })).toEqual({ ok: false, failure: { kind: "unknown_key" } });
  });

  it("names the failing claim for the audit log", async () => {
    const ring = await loadKeyRing(current, undefined);
    const token = await signAccessToken(buildAccessClaims(subject, { issuer, resource, now, jti: "j" }), ring);
    expect(await verifyAccessToken(token, ring, { issuer, audience: `${issuer}/other`, now })).toEqual({ ok: false, failure: { kind: "claim_mismatch", claim: "aud" } });
    expect(await verifyAccessToken(token, ring, { issuer: "https://evil.example", audience: resource, now })).toEqual({ ok: false, failure: { kind: "claim_mismatch", claim: "iss" } });
  });

  it("refuses a token issued in the future", async () => {
    const ring = await loadKeyRing(current, undefined);
    const token = await signAccessToken(buildAccessClaims(subject, { issuer, resource, now: now + 60, jti: "j" }), ring);
    expect(await verifyAccessToken(token, ring, { issuer, audience: resource, now })).toEqual({ ok: false, failure: { kind: "issued_in_future" } });
  });

  it("refuses to load a key without kid or of an unsupported type", async () => {
    await expect(loadKeyRing(JSON.stringify({ kty: "oct", k: "abc", kid: "x" }), undefined)).rejects.toThrow(/Ed25519/);
    await expect(loadKeyRing(JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "abc" }), undefined)).rejects.toThrow(/kid/);
    await expect(loadKeyRing(undefined, undefined)).rejects.toThrow(/SIGNING_KEY/);
  });
});
