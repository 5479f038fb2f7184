import { describe, expect, it } from "vitest";
import { basic, expectOAuthError, expectTokens, mcpStatus, postForm, refresh, registerClient, session, taskClient } from "./oauth-helpers";

async function revoke(form: Record<string, string | undefined>, headers: Record<string, string> = {}): Promise<Response> {
  return postForm("/revoke", form, headers);
}

async function expectEmpty200(res: Response): Promise<void> {
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(await res.text()).toBe("");
}

describe("POST /revoke (RFC 7009)", () => {
  it("revokes the session of a refresh token: 200, its access token gets 401, the refresh token is dead", async () => {
    const s = await session();
    expect(await mcpStatus(s.tokens.access_token)).toBe(200);
    await expectEmpty200(await revoke({ token: s.tokens.refresh_token, token_type_hint: "refresh_token", client_id: s.clientId }));
    expect(await mcpStatus(s.tokens.access_token)).toBe(401);
    await expectOAuthError(await refresh(s.clientId, s.tokens.refresh_token), 400, "invalid_grant", [s.tokens.refresh_token]);
  });

  it("revokes an access token by its id: 200, it gets 401, the session can still refresh", async () => {
    const s = await session();
    await expectEmpty200(await revoke({ token: s.tokens.access_token, client_id: s.clientId }));
    expect(await mcpStatus(s.tokens.access_token)).toBe(401);
    const next = await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
    expect(await mcpStatus(next.access_token)).toBe(200);
  });

  it.each([
    ["an unknown opaque token", `ghr_${"C".repeat(43)}`],
    ["a garbage JWT", "a.b.c"],
    ["an over-long value", "x".repeat(5000)],
  ])("answers %s with 200 and changes nothing", async (_name, token) => {
    const s = await session();
    await expectEmpty200(await revoke({ token, client_id: s.clientId }));
    expect(await mcpStatus(s.tokens.access_token)).toBe(200);
    await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
  });

  it("answers another client's tokens with 200 but revokes nothing", async () => {
    const s = await session();
    const other = await registerClient();
    await expectEmpty200(await revoke({ token: s.tokens.refresh_token, client_id: other }));
    await expectEmpty200(await revoke({ token: s.tokens.access_token, client_id: other }));
    expect(await mcpStatus(s.tokens.access_token)).toBe(200);
    await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
  });

  it("refuses a request without a token with 400 invalid_request", async () => {
    const clientId = await registerClient();
    await expectOAuthError(await revoke({ client_id: clientId }), 400, "invalid_request");
  });

  it.each([
    ["an unknown client", { client_id: "ghcl_nobody" }, {}],
    ["no client", {}, {}],
  ])("refuses %s with 401 invalid_client and revokes nothing", async (_name, form, headers) => {
    const s = await session();
    await expectOAuthError(await revoke({ token: s.tokens.refresh_token, ...form }, headers), 401, "invalid_client", [s.tokens.refresh_token]);
    expect(await mcpStatus(s.tokens.access_token)).toBe(200);
  });

  it("authenticates task clients: a wrong secret is 401 invalid_client, the right one revokes the task token", async () => {
    const t = await taskClient();
    const res = await postForm("/token", { grant_type: "client_credentials" }, { Authorization: basic(t.clientId, t.secret) });
    const { access_token: token } = (await res.json()) as { access_token: string };
    expect(await mcpStatus(token)).toBe(200);
    await expectOAuthError(await revoke({ token }, { Authorization: basic(t.clientId, "wrong") }), 401, "invalid_client", [token, t.secret]);
    expect(await mcpStatus(token)).toBe(200);
    await expectEmpty200(await revoke({ token }, { Authorization: basic(t.clientId, t.secret) }));
    expect(await mcpStatus(token)).toBe(401);
  });
});
