import { afterEach, describe, expect, it, vi } from "vitest";
import { clearUpstreamCache, upstream, upstreamAuthorizationEndpoint, UpstreamConfigError, type UpstreamVars } from "../../../src/oauth/oidc-upstream";

// Nothing here reaches a network: refusals happen before any request, and `fetch` is stubbed where one is made.
const env = (vars: UpstreamVars): UpstreamVars => ({ OIDC_CLIENT_ID: "c", OIDC_CLIENT_SECRET: "s", ...vars });

afterEach(() => {
  clearUpstreamCache();
  vi.unstubAllGlobals();
});

function stubFetch(answer: (url: string) => Response | Promise<Response>): string[] {
  const calls: string[] = [];
  vi.stubGlobal("fetch", async (input: string | URL | Request) => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push(url);
    return answer(url);
  });
  return calls;
}

const metadata = (issuer: string, extra: Record<string, unknown> = {}) =>
  Response.json({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, ...extra });

describe("upstream provider configuration", () => {
  it.each([
    ["plain http to a non-loopback host", "http://idp.example.com"],
    ["not a URL", "idp.example.com"],
    ["another scheme", "ftp://127.0.0.1/"],
  ])("refuses %s before sending anything", async (_name, issuer) => {
    await expect(upstream(env({ OIDC_ISSUER: issuer }))).rejects.toBeInstanceOf(UpstreamConfigError);
    expect(await upstreamAuthorizationEndpoint(env({ OIDC_ISSUER: issuer }))).toBeUndefined();
  });

  it("is not configured without all of issuer, client id and secret", async () => {
    await expect(upstream(env({ OIDC_ISSUER: "https://idp.example.com", OIDC_CLIENT_SECRET: "" }))).rejects.toBeInstanceOf(UpstreamConfigError);
    expect(await upstreamAuthorizationEndpoint(env({ OIDC_ISSUER: "https://idp.example.com", OIDC_CLIENT_ID: "" }))).toBeUndefined();
  });

  it("discovers once per isolate and reuses the same metadata object", async () => {
    const calls = stubFetch(() => metadata("https://idp.example.com"));
    const e = env({ OIDC_ISSUER: "https://idp.example.com" });
    const first = await upstream(e);
    const second = await upstream(e);
    expect(second.as).toBe(first.as);
    expect(calls).toEqual(["https://idp.example.com/.well-known/openid-configuration"]);
    expect(first.client).toEqual({ client_id: "c" });
    expect(await upstreamAuthorizationEndpoint(e)).toBe("https://idp.example.com/auth");
  });

  it("refuses metadata for another issuer and an http authorization endpoint on an https issuer", async () => {
    stubFetch(() => metadata("https://evil.example.com"));
    await expect(upstream(env({ OIDC_ISSUER: "https://idp.example.com" }))).rejects.toThrow(/issuer/);
    clearUpstreamCache();
    stubFetch(() => metadata("https://idp.example.com", { authorization_endpoint: "http://idp.example.com/auth" }));
    await expect(upstream(env({ OIDC_ISSUER: "https://idp.example.com" }))).rejects.toBeInstanceOf(UpstreamConfigError);
  });

  it("does not cache a failed discovery, and the login page falls back to the issuer for its form-action", async () => {
    const calls = stubFetch(() => Promise.reject(new TypeError("fetch failed")));
    const e = env({ OIDC_ISSUER: "http://127.0.0.1:9/tenant" });
    await expect(upstream(e)).rejects.toThrow("fetch failed");
    await expect(upstream(e)).rejects.toThrow("fetch failed");
    expect(calls).toHaveLength(2);
    expect(await upstreamAuthorizationEndpoint(e)).toBe("http://127.0.0.1:9/tenant");
  });

  it("does not hold the login page for a slow provider", async () => {
    stubFetch(() => new Promise<Response>(() => undefined));
    const t = performance.now();
    expect(await upstreamAuthorizationEndpoint(env({ OIDC_ISSUER: "https://idp.example.com" }), 50)).toBe("https://idp.example.com/");
    expect(performance.now() - t).toBeLessThan(1000);
  });
});
