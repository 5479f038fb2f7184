import { afterAll, describe, expect, inject, it } from "vitest";
import { createHash } from "node:crypto";
import pg from "pg";
import { Client as McpClient, type Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { fetchFromIp } from "../support/client-ip";
import { connectClient, devToken } from "../support/mcp-client";
import { demoDatabaseUrl, queryOnce } from "../support/demo-db";
import { jwtPayload, readLocalD1 } from "../support/d1";
import { TestOAuthProvider } from "../support/oauth-browser";
import { dynamicRoleName, importRoleKey, loginPassword } from "../../src/tools/dynamic-login";

// Dynamic database credentials (docs/configuration.md "Short-lived database credentials") on the real stack: the
// e2e workspace's dynamic_sql runs on DB_URL_DIAGNOSTIC, bound dynamic with tier role gatehouse_diagnostic, and
// static_sql on the same tier role's own static login (test/e2e/global-setup.ts, test/e2e/policy.yaml).

const e2e = inject("e2e");
const TIER_ROLE = "gatehouse_diagnostic";
const SLOW = "SELECT n, slept FROM reporting.slow_report";
const QUICK = "SELECT region, sum(invoiced) AS invoiced FROM reporting.revenue_summary GROUP BY region ORDER BY region";
const gatehouseUrl = demoDatabaseUrl(e2e.pg.superuserUrl);

type CallResult = { isError?: boolean; content: Array<{ text?: string }> };
const clients: Client[] = [];
afterAll(async () => {
  for (const c of clients) await c.close();
});

async function client(token: string): Promise<Client> {
  const c = await connectClient(e2e.mcpUrl, token);
  clients.push(c);
  return c;
}

async function call(c: Client, name: string, sql: string): Promise<CallResult> {
  return (await c.callTool({ name, arguments: { sql } })) as CallResult;
}

/** A query on a fresh connection (`url`: the superuser's by default), closed afterwards. */
const pgQuery = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], url = gatehouseUrl): Promise<T[]> => queryOnce<T>(url, sql, params);

const jtiOf = (token: string) => String(jwtPayload(token).jti);
const roleOf = (token: string) => dynamicRoleName(jtiOf(token), TIER_ROLE);

/** The token's login as a connection string, its password derived as the Worker derives it: no guard in between. */
async function loginUrl(token: string): Promise<{ role: string; url: string }> {
  const role = await roleOf(token);
  const password = await loginPassword(await importRoleKey(e2e.dynamicRoleKey), role);
  return { role, url: `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${e2e.pg.port}/gatehouse` };
}

/** The audit row of the token's last call of `tool`, once completed. */
async function auditRow(token: string, tool: string): Promise<{ outcome: string; db_role: string; db_login: string | null }> {
  const jti = jtiOf(token).replace(/[^A-Za-z0-9_-]/g, "");
  const until = Date.now() + 15_000;
  for (;;) {
    const rows = await readLocalD1<{ outcome: string; db_role: string; db_login: string | null }>(
      e2e.stateDir,
      `SELECT outcome, db_role, db_login FROM audit_events WHERE token_jti = '${jti}' AND tool = '${tool}' ORDER BY seq DESC LIMIT 1`,
    );
    // The completion is written after the response (waitUntil): poll the D1 file until it is there.
    if ((rows[0] && rows[0].outcome !== "started") || Date.now() > until) return rows[0]!;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls pg_stat_activity (as the superuser) until a backend of `role` runs the slow view; bounded by the view's 2 s. */
async function activeBackend(role: string): Promise<{ pid: number; usename: string; query: string }> {
  const until = Date.now() + 3_000;
  for (;;) {
    const rows = await pgQuery<{ pid: number; usename: string; query: string }>(
      "SELECT pid, usename, query FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%slow_report%'",
      [role],
    );
    if (rows[0] || Date.now() > until) return rows[0]!;
  }
}

describe("dynamic database credentials: one Postgres login per access token", () => {
  it("runs a slow call as a login unique to the token, which another token's login can neither read nor cancel nor terminate", async () => {
    const [tokenA, tokenB] = await Promise.all([devToken(e2e, { user: "dyn-a@example.com", workspace: "e2e" }), devToken(e2e, { user: "dyn-b@example.com", workspace: "e2e" })]);
    const [a, b] = await Promise.all([client(tokenA), client(tokenB)]);
    // B's login exists once B has made a call.
    expect((await call(b, "dynamic_sql", QUICK)).isError).toBeFalsy();
    const roleA = await roleOf(tokenA);
    const slow = call(a, "dynamic_sql", SLOW);
    const backend = await activeBackend(roleA);
    expect(backend).toMatchObject({ usename: roleA });
    expect(roleA).toMatch(/^gh_[0-9a-f]{16}$/);
    // Only A's token runs as that role: no other backend of it, and it is not B's.
    expect(await roleOf(tokenB)).not.toBe(roleA);

    // Directly as B's login, without the gateway or its guard.
    const asB = await loginUrl(tokenB);
    expect(await pgQuery<{ user: string }>("SELECT current_user AS user", [], asB.url)).toEqual([{ user: asB.role }]);
    const seen = await pgQuery<{ usename: string; query: string | null }>("SELECT usename, query FROM pg_stat_activity WHERE pid = $1", [backend.pid], asB.url);
    expect(seen).toEqual([{ usename: roleA, query: "<insufficient privilege>" }]);
    for (const fn of ["pg_cancel_backend", "pg_terminate_backend"]) {
      await expect(pgQuery(`SELECT ${fn}($1)`, [backend.pid], asB.url)).rejects.toMatchObject({ code: "42501" });
    }

    // A's call was neither cancelled nor terminated; its audit row names the login Postgres showed.
    const result = await slow;
    expect(result.isError).toBeFalsy();
    expect(result.content[0]?.text).toContain("slept 2s");
    expect(await auditRow(tokenA, "dynamic_sql")).toEqual({ outcome: "ok", db_role: "diagnostic", db_login: roleA });
    // The login inherits the tier role and nothing else, and may not SET ROLE to it.
    const grants = await pgQuery<{ tier: string; inherit: boolean; set: boolean }>(
      "SELECT g.rolname AS tier, m.inherit_option AS inherit, m.set_option AS set FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = $1",
      [roleA],
    );
    expect(grants).toEqual([{ tier: TIER_ROLE, inherit: true, set: false }]);
  });

  it("gives two tokens of the same user two different logins, and a static credential none", async () => {
    const tokens = await Promise.all([devToken(e2e, { user: "dyn-a@example.com", workspace: "e2e" }), devToken(e2e, { user: "dyn-a@example.com", workspace: "e2e" })]);
    for (const token of tokens) expect((await call(await client(token), "dynamic_sql", QUICK)).isError).toBeFalsy();
    const [one, two] = await Promise.all(tokens.map((t) => auditRow(t, "dynamic_sql")));
    expect(one!.db_login).toBe(await roleOf(tokens[0]!));
    expect(two!.db_login).toBe(await roleOf(tokens[1]!));
    expect(one!.db_login).not.toBe(two!.db_login);
    const roles = await pgQuery<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY rolname", [[one!.db_login, two!.db_login]]);
    expect(roles).toHaveLength(2);

    const c = await client(tokens[0]!);
    expect((await call(c, "static_sql", QUICK)).isError).toBeFalsy();
    expect(await auditRow(tokens[0]!, "static_sql")).toEqual({ outcome: "ok", db_role: "static_diagnostic", db_login: null });
  });

  it("gives a refreshed token a new login", async () => {
    const provider = new TestOAuthProvider({ email: "dana@example.com", scopes: ["db:read", "db:sql"] });
    // The SDK's interactive flow (as test/e2e/oauth.test.ts): 401 → registration, dev login and consent → code.
    const first = new StreamableHTTPClientTransport(new URL(e2e.mcpUrl), { authProvider: provider, fetch: fetchFromIp(provider.ip) });
    await expect(new McpClient({ name: "e2e", version: "1" }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
    await first.finishAuth(provider.lastCode!);
    const before = provider.saved!;
    expect(before.scope).toContain("db:sql");
    expect((await call(await client(before.access_token), "execute_sql", QUICK)).isError).toBeFalsy();

    const res = await fetch(`${e2e.workerUrl}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: before.refresh_token!, client_id: provider.info!.client_id }),
    });
    expect(res.status).toBe(200);
    const after = (await res.json()) as { access_token: string };
    expect((await call(await client(after.access_token), "execute_sql", QUICK)).isError).toBeFalsy();

    const [old, fresh] = await Promise.all([auditRow(before.access_token, "execute_sql"), auditRow(after.access_token, "execute_sql")]);
    expect(old.db_login).toBe(await roleOf(before.access_token));
    expect(fresh.db_login).toBe(await roleOf(after.access_token));
    expect(fresh.db_login).not.toBe(old.db_login);
    // Each login lives as long as its own token, plus the grace.
    const valid = await pgQuery<{ rolname: string; until: string }>("SELECT rolname, extract(epoch FROM rolvaliduntil)::bigint::text AS until FROM pg_roles WHERE rolname = ANY($1::text[])", [
      [old.db_login, fresh.db_login],
    ]);
    expect(Object.fromEntries(valid.map((r) => [r.rolname, Number(r.until)]))).toEqual({
      [old.db_login!]: (jwtPayload(before.access_token).exp as number) + 60,
      [fresh.db_login!]: (jwtPayload(after.access_token).exp as number) + 60,
    });
  });

  it("creates exactly one login for 50 concurrent first calls of one token, and every call succeeds", async () => {
    const token = await devToken(e2e, { user: "dyn-b@example.com", workspace: "e2e" });
    const role = await roleOf(token);
    expect(await pgQuery("SELECT 1 FROM pg_roles WHERE rolname = $1", [role])).toEqual([]);
    const c = await client(token);
    const results = await Promise.all(Array.from({ length: 50 }, () => call(c, "dynamic_sql", QUICK)));
    expect(results.filter((r) => r.isError).map((r) => r.content[0]?.text)).toEqual([]);
    expect(await pgQuery("SELECT rolname FROM pg_roles WHERE rolname = $1", [role])).toEqual([{ rolname: role }]);
    expect(await pgQuery("SELECT role FROM gatehouse_broker.dynamic_logins WHERE role = $1", [role])).toEqual([{ role }]);
  });

  it("ends a running query when the broker revokes its login, and then refuses the token's calls as revoked, never re-creating the login", async () => {
    const token = await devToken(e2e, { user: "dyn-b@example.com", workspace: "e2e" });
    const c = await client(token);
    expect((await call(c, "dynamic_sql", QUICK)).isError).toBeFalsy();
    const role = await roleOf(token);
    const slow = call(c, "dynamic_sql", SLOW).then((r) => ({ r, at: performance.now() }));
    await activeBackend(role);
    // What every revocation path runs once D1 has committed (src/oauth/database-logins.ts), here as the broker itself,
    // so that the call's own caller-state check still passes: the database side alone must stop it.
    const broker = new pg.Client({ connectionString: gatehouseUrl });
    await broker.connect();
    let revokedAt: number;
    try {
      await broker.query("SET ROLE gatehouse_broker");
      const jtiHash = createHash("sha256").update(jtiOf(token)).digest("hex");
      revokedAt = performance.now();
      expect((await broker.query("SELECT gatehouse_broker.revoke_logins('token', $1, 'e2e') AS n", [jtiHash])).rows).toEqual([{ n: 1 }]);
    } finally {
      await broker.end();
    }
    const ended = await slow;
    expect(ended.r).toMatchObject({ isError: true, content: [{ text: expect.stringContaining("a revocation of this access") }] });
    expect(ended.at - revokedAt).toBeLessThan(1000);
    const next = await call(c, "dynamic_sql", QUICK);
    expect(next).toMatchObject({ isError: true, content: [{ text: expect.stringContaining("the database login of this access token was revoked") }] });
    // The latest row is completed once auditRow returns (completions land after the responses); then all three.
    expect(await auditRow(token, "dynamic_sql")).toMatchObject({ outcome: "error", db_login: role });
    const row = await readLocalD1<{ rule: string | null }>(
      e2e.stateDir,
      `SELECT rule FROM audit_events WHERE token_jti = '${jtiOf(token).replace(/[^A-Za-z0-9_-]/g, "")}' AND tool = 'dynamic_sql' ORDER BY seq`,
    );
    expect(row.map((r) => r.rule)).toEqual([null, "terminated", "credential_revoked"]);
    expect(await pgQuery("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", [role])).toEqual([{ rolcanlogin: false }]);
  });

  it("measures the first call and steady-state calls of the dynamic credential against the static one", async () => {
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const timed = async (c: Client, tool: string) => {
      const t = performance.now();
      const r = await call(c, tool, QUICK);
      expect(r.isError).toBeFalsy();
      return performance.now() - t;
    };
    const first: Record<string, number[]> = { static_sql: [], dynamic_sql: [] };
    const steady: Record<string, number[]> = { static_sql: [], dynamic_sql: [] };
    // Interleaved, so that the machine's load drifts over both alike; each round uses fresh tokens.
    for (let i = 0; i < 7; i++) {
      for (const tool of ["static_sql", "dynamic_sql"]) {
        const c = await client(await devToken(e2e, { user: "dyn-a@example.com", workspace: "e2e" }));
        first[tool]!.push(await timed(c, tool));
        for (let j = 0; j < 8; j++) steady[tool]!.push(await timed(c, tool));
      }
    }
    const figures: Record<string, number> = {};
    for (const tool of ["static_sql", "dynamic_sql"]) {
      figures[`${tool} first call ms (median of 7)`] = Math.round(median(first[tool]!));
      figures[`${tool} steady-state ms (median of 56)`] = Math.round(median(steady[tool]!));
    }
    console.log(`dynamic credential latency: ${JSON.stringify(figures)}`);
  });
});
