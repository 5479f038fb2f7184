import { env } from "cloudflare:test";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { compilePolicy } from "../../src/policy/compile";
import { applyCompiledPolicy } from "../../src/policy/store-d1";
import { validatePolicy } from "../../src/policy/validate";
import { ORIGIN, RESOURCE, expectOAuthError, expectTokens, jwtPayload, mcpStatus, postForm, refresh, session, setClock } from "./oauth-helpers";

afterEach(async () => {
  await setClock(0);
});

/** Applies the demo policy with `edit` applied to its document (a new policy version). */
async function applyDemo(edit: (doc: Record<string, unknown>) => void = () => undefined): Promise<void> {
  const doc = parse(demoPolicy) as Record<string, unknown>;
  edit(doc);
  const checked = validatePolicy(doc);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  await applyCompiledPolicy(env.DB, await compilePolicy(checked.policy), JSON.stringify(checked.policy), "test", new Date());
}

afterAll(async () => {
  await applyDemo();
});

function refreshFrom(headers: Record<string, string>, clientId: string, token: string): Promise<Response> {
  return postForm("/token", { grant_type: "refresh_token", refresh_token: token, client_id: clientId }, headers);
}

describe("refresh: resource (RFC 8707)", () => {
  it("defaults an absent resource and accepts ours", async () => {
    const s = await session();
    const next = await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
    await expectTokens(await refresh(s.clientId, next.refresh_token, { resource: RESOURCE }));
  });

  it.each([
    ["another server's resource", "https://evil.example/mcp"],
    ["the issuer", ORIGIN],
  ])("refuses %s with invalid_target and rotates nothing", async (_name, resource) => {
    const s = await session();
    await expectOAuthError(await refresh(s.clientId, s.tokens.refresh_token, { resource }), 400, "invalid_target", [s.tokens.refresh_token]);
    await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
  });
});

describe("refresh grace: bound to the requester that rotated", () => {
  const laptop = { "User-Agent": "Client/1.0 (laptop)", "CF-Connecting-IP": "192.0.2.10" };

  it("gives the same pair to a duplicate from the same user agent and network, and audits the grace use", async () => {
    const s = await session();
    const first = await expectTokens(await refreshFrom(laptop, s.clientId, s.tokens.refresh_token));
    const again = await expectTokens(await refreshFrom(laptop, s.clientId, s.tokens.refresh_token));
    expect(again).toEqual(first);
    const sid = jwtPayload(first.access_token).sid as string;
    const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE event = 'token.refreshed' AND rule = 'grace_duplicate' AND session_id = ?").bind(sid).first<{ n: number }>();
    expect(row?.n).toBe(1);
  });

  it.each<[string, Record<string, string>]>([
    ["the same user agent on another network", { ...laptop, "CF-Connecting-IP": "192.0.2.99" }],
    ["another user agent on the same network", { ...laptop, "User-Agent": "curl/8" }],
    ["no user agent on another network", { "CF-Connecting-IP": "198.51.100.7" }],
  ])("treats a duplicate from %s as reuse: invalid_grant, session revoked, audited", async (_name, thief) => {
    const s = await session();
    const refusals = () => env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE event = 'token.refused' AND rule = 'refresh_grace_other_requester'").first<{ n: number }>();
    const before = (await refusals())!.n;
    const first = await expectTokens(await refreshFrom(laptop, s.clientId, s.tokens.refresh_token));
    await expectOAuthError(await refreshFrom(thief, s.clientId, s.tokens.refresh_token), 400, "invalid_grant", [first.refresh_token, first.access_token]);
    expect(await mcpStatus(first.access_token)).toBe(401);
    await expectOAuthError(await refreshFrom(laptop, s.clientId, first.refresh_token), 400, "invalid_grant");
    expect((await refusals())!.n).toBe(before + 1);
  });

  it("treats an IPv6 address in the same /64 as the same network", async () => {
    const s = await session();
    const v6 = { "User-Agent": "Client/1.0", "CF-Connecting-IP": "2001:db8:1:2::10" };
    const first = await expectTokens(await refreshFrom(v6, s.clientId, s.tokens.refresh_token));
    const again = await expectTokens(await refreshFrom({ ...v6, "CF-Connecting-IP": "2001:db8:1:2:abcd::7" }, s.clientId, s.tokens.refresh_token));
    expect(again).toEqual(first);
  });
});

describe("refresh re-resolves access against the current policy", () => {
  it("narrows the scope to the tiers still granted, and ends the session when nothing is left", async () => {
    // Dana holds read and sql through the demo policy.
    const s = await session({ email: "dana@example.com", scopes: ["db:read", "db:sql"] });
    expect(s.tokens.scope).toBe("db:read db:sql");
    // Withdraw every grant of execute_sql: the next refresh keeps only db:read.
    await applyDemo((doc) => {
      doc.grants = (doc.grants as Array<{ tools: string[] }>).map((g) => ({ ...g, tools: g.tools.filter((t) => t !== "execute_sql") })).filter((g) => g.tools.length > 0);
    });
    // Asking for only the withdrawn tier is refused without ending the session…
    await expectOAuthError(await refresh(s.clientId, s.tokens.refresh_token, { scope: "db:sql" }), 400, "invalid_scope", [s.tokens.refresh_token]);
    // …and a plain refresh keeps what is still granted.
    const narrowed = await expectTokens(await refresh(s.clientId, s.tokens.refresh_token));
    expect(narrowed.scope).toBe("db:read");
    // Remove Dana from the policy altogether: the refresh ends the session.
    await applyDemo((doc) => {
      doc.users = (doc.users as Array<{ email: string }>).filter((u) => u.email !== "dana@example.com");
    });
    await expectOAuthError(await refresh(s.clientId, narrowed.refresh_token), 400, "invalid_grant", [narrowed.refresh_token]);
    await applyDemo();
    expect(await mcpStatus(narrowed.access_token)).toBe(401);
  });
});
