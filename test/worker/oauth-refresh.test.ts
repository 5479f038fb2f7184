import { afterEach, describe, expect, it } from "vitest";
import { expectOAuthError, expectTokens, jwtPayload, mcpStatus, refresh, registerClient, session, setClock, toolNames, type Tokens } from "./oauth-helpers";

afterEach(async () => {
  await setClock(0);
});

/** Refreshes at a clock offset (seconds from now) and leaves the clock there; afterEach resets it. */
async function refreshAt(offset: number, clientId: string, token: string, extra: Record<string, string> = {}): Promise<Response> {
  await setClock(offset);
  return refresh(clientId, token, extra);
}

describe("POST /token, refresh_token", () => {
  it("rotates: a new refresh token and access token, same session and scope, no-store", async () => {
    const s = await session();
    const next = await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
    expect(next.refresh_token).toMatch(/^ghr_/);
    expect(next.refresh_token).not.toBe(s.tokens.refresh_token);
    expect(next.access_token).not.toBe(s.tokens.access_token);
    expect(next.scope).toBe("db:read");
    expect(next.expires_in).toBe(900);
    expect(jwtPayload(next.access_token).sid).toBe(jwtPayload(s.tokens.access_token).sid);
    expect(await toolNames(next.access_token)).toEqual(["pipeline_coverage", "revenue_summary"]);
    // And the new refresh token rotates in turn.
    const third = await expectTokens(await refresh(s.clientId, next.refresh_token));
    expect(third.refresh_token).not.toBe(next.refresh_token);
  });

  it("answers a benign duplicate within the grace window with the identical pair", async () => {
    const s = await session();
    const first = await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
    const again = await expectTokens(await refreshAt(20, s.clientId, s.tokens.refresh_token));
    expect(again).toEqual(first);
    // Nothing was revoked: the pair works and its refresh token still rotates.
    expect(await mcpStatus(first.access_token)).toBe(200);
    await expectTokens(await refresh(s.clientId, first.refresh_token));
  });

  it("treats reuse of a rotated token after the grace window as theft: invalid_grant and the whole session is revoked", async () => {
    const s = await session();
    const next = await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
    expect(await mcpStatus(next.access_token)).toBe(200);
    await expectOAuthError(await refreshAt(60, s.clientId, s.tokens.refresh_token), 400, "invalid_grant", [s.tokens.refresh_token, next.refresh_token, next.access_token]);
    // The newest refresh token and every access token of the session are dead too.
    await expectOAuthError(await refresh(s.clientId, next.refresh_token), 400, "invalid_grant", [next.refresh_token]);
    expect(await mcpStatus(next.access_token)).toBe(401);
    expect(await mcpStatus(s.tokens.access_token)).toBe(401);
  });

  // Was a bug (fixed): src/oauth/token-routes.ts:120-126 checks scope widening (line 122) before the reuse decision (line 125), so a
  // rotated refresh token presented after the grace window together with a wider `scope` answers invalid_scope and
  // does NOT revoke the session; the thief keeps the newest pair. Input: refresh R1 → R2; 60 s later POST /token
  // grant_type=refresh_token&refresh_token=R1&scope=db:read db:write. Expected: the session is revoked (R2 then
  // fails with invalid_grant); actual: 400 invalid_scope and R2 still refreshes (200). Fix: take the refresh decision
  // (and call reuseDetected) before validating `scope`, or validate scope only when decision.kind === "rotate".
  it("detects reuse of a rotated token even when the request also widens the scope", async () => {
    const s = await session();
    const next = await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
    const res = await refreshAt(60, s.clientId, s.tokens.refresh_token, { scope: "db:read db:write" });
    expect(res.status).toBe(400);
    await res.body?.cancel();
    await expectOAuthError(await refresh(s.clientId, next.refresh_token), 400, "invalid_grant", [next.refresh_token]);
    expect(await mcpStatus(next.access_token)).toBe(401);
  });

  it("refuses a refresh by another client with invalid_grant and changes nothing", async () => {
    const s = await session();
    const other = await registerClient();
    await expectOAuthError(await refresh(other, s.tokens.refresh_token), 400, "invalid_grant", [s.tokens.refresh_token]);
    expect(await mcpStatus(s.tokens.access_token)).toBe(200);
    await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
  });

  it.each([
    ["a tier the session lacks", "db:read db:write"],
    ["only a tier the session lacks", "db:sql"],
    ["admin scope", "db:read gatehouse:admin"],
  ])("refuses widening to %s with invalid_scope and changes nothing", async (_name, scope) => {
    const s = await session();
    await expectOAuthError(await refresh(s.clientId, s.tokens.refresh_token, { scope }), 400, "invalid_scope", [s.tokens.refresh_token]);
    expect(await mcpStatus(s.tokens.access_token)).toBe(200);
    const next = await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
    expect(next.scope).toBe("db:read");
  });

  it("accepts the same scope explicitly", async () => {
    const s = await session();
    const next = await expectTokens(await refresh(s.clientId, s.tokens.refresh_token, { scope: "db:read" }));
    expect(next.scope).toBe("db:read");
  });

  it.each([
    ["an unknown refresh token", "invalid_grant", `ghr_${"B".repeat(43)}`],
    ["no refresh token", "invalid_request", ""],
    ["an over-long refresh token", "invalid_request", `ghr_${"B".repeat(300)}`],
  ])("refuses %s with 400 %s", async (_name, error, token) => {
    const clientId = await registerClient();
    await expectOAuthError(await refresh(clientId, token), 400, error);
  });

  it("ends a session idle for 2 hours: invalid_grant", async () => {
    const s = await session();
    await expectOAuthError(await refreshAt(2 * 3600 + 5, s.clientId, s.tokens.refresh_token), 400, "invalid_grant", [s.tokens.refresh_token]);
  });

  it("measures idleness from the last use: refreshing every 90 minutes keeps the session past 2 hours", async () => {
    const s = await session();
    const a = await expectTokens(await refreshAt(5400, s.clientId, s.tokens.refresh_token));
    const b = await expectTokens(await refreshAt(10800, s.clientId, a.refresh_token));
    expect(b.refresh_token).toMatch(/^ghr_/);
  });

  it("ends a session after 12 hours however active it is: invalid_grant", async () => {
    const s = await session();
    let current: Tokens = s.tokens;
    for (let offset = 5400; offset <= 37800; offset += 5400) current = await expectTokens(await refreshAt(offset, s.clientId, current.refresh_token));
    // 43 201 s: 5 401 s since the last use (not idle), but past the 12-hour absolute lifetime.
    await expectOAuthError(await refreshAt(12 * 3600 + 1, s.clientId, current.refresh_token), 400, "invalid_grant", [current.refresh_token]);
  });
});
