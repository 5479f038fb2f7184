import { createExecutionContext, createScheduledController, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { nowSeconds } from "../../src/lib/clock";
import { DEFAULT_SESSION_POLICY } from "../../src/oauth/session-policy";
import { CODE_KEEP_SECONDS, UNUSED_CLIENT_SECONDS } from "../../src/oauth/prune";
import { REDIRECT, authorize, authorizeQuery, freshIp, pkce, registerClient, setClock, url } from "./oauth-helpers";
import { inOneRateWindow } from "../support/rate-window";

afterEach(async () => setClock(0));

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  return (await env.DB.prepare(`SELECT count(*) AS n FROM (${sql})`)
    .bind(...binds)
    .first<{ n: number }>())!.n;
}

async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("stored inputs of /authorize are bounded", () => {
  it("refuses a state over 512 bytes and stores nothing; 512 bytes are fine", async () => {
    const clientId = await registerClient([REDIRECT]);
    const { challenge } = await pkce();
    const before = await count("SELECT 1 FROM auth_requests WHERE client_id = ?", clientId);
    const long = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, state: "é".repeat(257) }));
    expect(long.status).toBe(400);
    expect(await long.text()).toContain("state is limited to 512 bytes");
    expect(await count("SELECT 1 FROM auth_requests WHERE client_id = ?", clientId)).toBe(before);
    const fits = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, state: "s".repeat(512) }));
    expect(fits.status).toBe(200);
    await fits.body?.cancel();
    expect(await count("SELECT 1 FROM auth_requests WHERE client_id = ?", clientId)).toBe(before + 1);
  });

  it("stores at most 120 sign-ins a minute from one IP; the next is a 429 page that stores nothing", { timeout: 90_000 }, async () => {
    await inOneRateWindow(30);
    const clientId = await registerClient([REDIRECT]);
    const { challenge } = await pkce();
    const ip = freshIp();
    const query = authorizeQuery({ client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, state: "x" });
    for (let i = 0; i < 120; i++) {
      const res = await authorize(query, ip);
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
    const refused = await authorize(query, ip);
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain("Too many sign-ins");
    expect(await count("SELECT 1 FROM auth_requests WHERE client_id = ?", clientId)).toBe(120);
    const other = await authorize(query); // another IP is not affected
    expect(other.status).toBe(200);
    await other.body?.cancel();
  });
});

describe("refusals anyone can provoke are counted past 60 a minute per IP", () => {
  it("records the first 60 junk /token requests of a minute as rows, counts the rest, and the Cron folds the count into one row", { timeout: 60_000 }, async () => {
    await inOneRateWindow(20);
    const ip = "203.0.113.9";
    const junk = () =>
      SELF.fetch(url("/token"), {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": ip },
        body: "grant_type=authorization_code&client_id=nobody&code=x",
      });
    for (let i = 0; i < 85; i++) {
      const res = await junk();
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }
    expect(await count("SELECT 1 FROM audit_events WHERE event = 'token.refused' AND ip = ?", ip)).toBe(60);
    expect(await env.DB.prepare("SELECT sum(count) AS n FROM audit_counters WHERE flood_key = ?").bind(`ip:${ip}`).first("n")).toBe(25);

    await setClock(120); // the minute is over
    await runCron();
    const folded = await env.DB.prepare("SELECT * FROM audit_events WHERE event = 'token.refused' AND ip = ? AND detail LIKE 'flood:%'").bind(ip).all<Record<string, unknown>>();
    expect(folded.results).toHaveLength(1);
    expect(folded.results[0]).toMatchObject({ outcome: "denied", rule: "unknown_client", rows: 25 });
    expect(String(folded.results[0]!.detail)).toMatch(/^flood: 25 more in this minute/);
    expect(await count("SELECT 1 FROM audit_counters WHERE flood_key = ?", `ip:${ip}`)).toBe(0);
    expect(folded.results[0]!.hash).toMatch(/^[0-9a-f]{64}$/); // folded before the same run seals the chain
  });
});

describe("the Cron Trigger prunes OAuth state that can never be used again", () => {
  it("deletes expired sign-ins, codes past the replay window, dead sessions with their refresh tokens, and registrations nobody used; keeps the rest", async () => {
    const now = nowSeconds();
    const idle = DEFAULT_SESSION_POLICY.idleSeconds;
    const req = (id: string, expires: number) =>
      env.DB.prepare("INSERT INTO auth_requests (id, csrf, client_id, redirect_uri, code_challenge, scope, created_at, expires_at) VALUES (?, 'c', 'cl', 'https://a/cb', 'x', '', ?, ?)").bind(
        id,
        expires - 900,
        expires,
      );
    const code = (hash: string, expires: number) =>
      env.DB.prepare(
        "INSERT INTO auth_codes (code_hash, client_id, redirect_uri, code_challenge, scope, principal_id, principal_kind, workspace_id, session_id, expires_at) VALUES (?, 'cl', 'https://a/cb', 'x', 'db:read', 'user:p', 'user', 'demo', 's', ?)",
      ).bind(hash, expires);
    const session = (id: string, clientId: string, lastUsed: number, expires: number) =>
      env.DB.prepare(
        "INSERT INTO sessions (id, client_id, principal_id, principal_kind, workspace_id, scope, created_at, last_used_at, expires_at) VALUES (?, ?, 'user:p', 'user', 'demo', 'db:read', ?, ?, ?)",
      ).bind(id, clientId, lastUsed, lastUsed, expires);
    const refresh = (hash: string, sessionId: string) => env.DB.prepare("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)").bind(hash, sessionId, now);
    const login = (state: string, expires: number) =>
      env.DB.prepare("INSERT INTO oidc_logins (state, request_id, code_verifier, nonce, created_at, expires_at) VALUES (?, 'r', 'v', 'n', ?, ?)").bind(state, expires - 600, expires);
    const client = (id: string, created: number, lastUsed: number, kind = "public") =>
      env.DB.prepare(
        `INSERT INTO oauth_clients (client_id, kind, created_at, last_used_at${kind === "task" ? ", secret_hash, workspace_id, principal_id" : ""}) VALUES (?, ?, ?, ?${kind === "task" ? ", 'h', 'demo', 'task:t'" : ""})`,
      ).bind(id, kind, created, lastUsed);
    await env.DB.batch([
      req("prune-req-expired", now - 1),
      req("prune-req-live", now + 600),
      code("prune-code-old", now - CODE_KEEP_SECONDS - 1),
      code("prune-code-recent", now - 60),
      session("prune-s-expired", "prune-cl-used", now - 60, now - 1),
      session("prune-s-idle", "prune-cl-used", now - idle - 1, now + 3600),
      session("prune-s-live", "prune-cl-used", now - 60, now + 3600),
      refresh("prune-rt-expired-1", "prune-s-expired"),
      refresh("prune-rt-expired-2", "prune-s-expired"),
      refresh("prune-rt-idle", "prune-s-idle"),
      refresh("prune-rt-live", "prune-s-live"),
      login("prune-login-expired", now - 1),
      login("prune-login-live", now + 300),
      client("prune-cl-unused-old", now - UNUSED_CLIENT_SECONDS - 1, now - UNUSED_CLIENT_SECONDS - 1),
      client("prune-cl-unused-new", now - 60, now - 60),
      client("prune-cl-used", now - UNUSED_CLIENT_SECONDS - 100, now - UNUSED_CLIENT_SECONDS - 100),
      client("prune-cl-task", now - UNUSED_CLIENT_SECONDS - 1, now - UNUSED_CLIENT_SECONDS - 1, "task"),
    ]);
    await runCron();
    const ids = async (sql: string) => (await env.DB.prepare(sql).all<{ id: string }>()).results.map((r) => r.id).sort();
    expect(await ids("SELECT id FROM auth_requests WHERE id LIKE 'prune-%'")).toEqual(["prune-req-live"]);
    expect(await ids("SELECT code_hash AS id FROM auth_codes WHERE code_hash LIKE 'prune-%'")).toEqual(["prune-code-recent"]);
    expect(await ids("SELECT id FROM sessions WHERE id LIKE 'prune-%'")).toEqual(["prune-s-live"]);
    expect(await ids("SELECT token_hash AS id FROM refresh_tokens WHERE token_hash LIKE 'prune-%'")).toEqual(["prune-rt-live"]);
    expect(await ids("SELECT state AS id FROM oidc_logins WHERE state LIKE 'prune-%'")).toEqual(["prune-login-live"]);
    expect(await ids("SELECT client_id AS id FROM oauth_clients WHERE client_id LIKE 'prune-%'")).toEqual(["prune-cl-task", "prune-cl-unused-new", "prune-cl-used"]);
  });
});
