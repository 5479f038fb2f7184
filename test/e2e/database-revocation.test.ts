import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import type pg from "pg";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { devPost } from "../../local/stack";
import { connectClient, devToken } from "../support/mcp-client";
import { demoDatabaseUrl, queryOnce } from "../support/demo-db";
import { jwtPayload, queryD1 } from "../support/d1";
import { dynamicRoleName } from "../../src/tools/dynamic-login";

// Revocation and expiry reach the database (docs/database-credentials.md) on the real stack: Dana's execute_sql in
// the demo workspace runs on DB_URL_DIAGNOSTIC, a dynamic credential (wrangler.toml), so each of her tokens runs as
// its own gh_… login. Revoking her through the admin API ends a running query; the minute cron drops an expired login.

const e2e = inject("e2e");
const TIER_ROLE = "gatehouse_diagnostic";
// Dana may read only the demo relations: four copies of sales.opportunities (160 rows) are 655 million rows to
// count, seconds of work, far longer than the revocation may take to end it.
const SLOW = "SELECT count(*) AS n FROM sales.opportunities a, sales.opportunities b, sales.opportunities c, sales.opportunities d";
const QUICK = "SELECT count(*) AS n FROM sales.accounts";
const gatehouseUrl = demoDatabaseUrl(e2e.pg.superuserUrl);

type CallResult = { isError?: boolean; content: Array<{ text?: string }> };
const clients: Client[] = [];
const clock = (offset: number) => devPost(e2e, "/dev/clock", { offset_seconds: offset });

afterEach(async () => void (await clock(0)));
afterAll(async () => {
  for (const c of clients) await c.close();
});

async function client(token: string): Promise<Client> {
  const c = await connectClient(e2e.mcpUrl, token);
  clients.push(c);
  return c;
}

async function call(c: Client, sql: string): Promise<CallResult> {
  return (await c.callTool({ name: "execute_sql", arguments: { sql } })) as CallResult;
}

const pgQuery = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], url = gatehouseUrl): Promise<T[]> => queryOnce<T>(url, sql, params);

const loginOf = (token: string) => dynamicRoleName(String(jwtPayload(token).jti), TIER_ROLE);

/** Polls pg_stat_activity until a backend of `role` is running a statement; bounded. */
async function runningBackend(role: string): Promise<number> {
  const until = Date.now() + 10_000;
  for (;;) {
    const rows = await pgQuery<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%sales.opportunities a%'", [role]);
    if (rows[0]) return rows[0].pid;
    if (Date.now() > until) throw new Error(`no running backend of ${role}`);
  }
}

async function loginState(role: string): Promise<{ exists: boolean; canLogin?: boolean; ledger?: { revoked: boolean } }> {
  const [r] = await pgQuery<{ rolcanlogin: boolean }>("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", [role]);
  const [l] = await pgQuery<{ revoked: boolean }>("SELECT revoked_at IS NOT NULL AS revoked FROM gatehouse_broker.dynamic_logins WHERE role = $1", [role]);
  return { exists: r !== undefined, ...(r ? { canLogin: r.rolcanlogin } : {}), ...(l ? { ledger: l } : {}) };
}

describe("revocation reaches the database", () => {
  it("revoking Dana through the admin API ends her running execute_sql with a clear tool error within a second", async () => {
    // Ten minutes in the past: the revocation refuses her tokens issued up to its second, and later suites mint
    // tokens for Dana at the real time.
    await clock(-600);
    const [danaToken, adminToken] = await Promise.all([devToken(e2e, { user: "dana@example.com" }), devToken(e2e, { user: "admin@example.com", scope: "gatehouse:admin" })]);
    const dana = await client(danaToken);
    const role = await loginOf(danaToken);
    expect((await call(dana, QUICK)).isError).toBeFalsy();
    expect(await loginState(role)).toEqual({ exists: true, canLogin: true, ledger: { revoked: false } });

    // Other suites of this stack leave Dana logins of their own behind: the revocation ends all of them.
    const [live] = await pgQuery<{ n: number }>(
      "SELECT count(*)::int AS n FROM gatehouse_broker.dynamic_logins WHERE workspace = 'demo' AND principal = 'user:dana@example.com' AND revoked_at IS NULL",
    );
    const n = live?.n ?? 0;
    expect(n).toBeGreaterThanOrEqual(1);

    const slow = call(dana, SLOW);
    const pid = await runningBackend(role);
    const started = performance.now();
    const revoked = await fetch(`${e2e.workerUrl}/admin/api/revocations`, {
      method: "POST",
      headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ kind: "user", value: "dana@example.com" }),
    });
    const answeredMs = performance.now() - started;
    expect(revoked.status).toBe(200);
    const result = await slow;
    const endedMs = performance.now() - started;
    console.log(`admin revocation answered after ${answeredMs.toFixed(0)} ms; Dana's running execute_sql ended after ${endedMs.toFixed(0)} ms: ${result.content[0]?.text}`);
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/^The database ended this query before it finished \(a revocation of this access/);
    expect(endedMs).toBeLessThan(1000);
    expect(await pgQuery("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).toEqual([]);
    expect(await loginState(role)).toEqual({ exists: true, canLogin: false, ledger: { revoked: true } });

    const audit = await queryD1<{ outcome: string; rule: string; detail: string }>(
      e2e.stateDir,
      "SELECT outcome, rule, detail FROM audit_events WHERE event = 'revocation.database' AND detail LIKE 'user:dana@example.com;%' ORDER BY seq DESC LIMIT 1",
    );
    expect(audit).toEqual([{ outcome: "ok", rule: "principal", detail: `user:dana@example.com; DB_URL_DIAGNOSTIC: ${n} login${n === 1 ? "" : "s"} revoked` }]);
  });

  it("after the token's expiry plus the grace, the minute cron drops its login; a live token's login stays", async () => {
    const token = await devToken(e2e, { user: "dana@example.com" });
    const { exp } = jwtPayload(token) as { exp: number };
    expect((await call(await client(token), QUICK)).isError).toBeFalsy();
    // A token minted five minutes later on the gateway's clock outlives the first one by as much.
    await clock(300);
    const later = await devToken(e2e, { user: "dana@example.com" });
    expect((await call(await client(later), QUICK)).isError).toBeFalsy();
    const [role, laterRole] = await Promise.all([loginOf(token), loginOf(later)]);
    const [validity] = await pgQuery<{ valid_until: number }>("SELECT extract(epoch FROM rolvaliduntil)::int AS valid_until FROM pg_roles WHERE rolname = $1", [role]);
    // VALID UNTIL is the token's expiry plus the 60 s login grace; the sweep allows 60 s more.
    expect(validity?.valid_until).toBe(exp + 60);
    const cron = async (gatewayTime: number) => {
      expect((await clock(gatewayTime - Math.floor(Date.now() / 1000))).status).toBe(200);
      expect((await fetch(`${e2e.workerUrl}/__scheduled?cron=*+*+*+*+*`)).status).toBe(200);
    };
    // Ten seconds before expiry + 120 s on the gateway's clock: kept.
    await cron(exp + 110);
    expect(await loginState(role)).toEqual({ exists: true, canLogin: true, ledger: { revoked: false } });
    // Ten seconds after: dropped, its ledger row too; the later token's login stays.
    await cron(exp + 130);
    expect(await loginState(role)).toEqual({ exists: false });
    expect(await loginState(laterRole)).toEqual({ exists: true, canLogin: true, ledger: { revoked: false } });
  });
});
