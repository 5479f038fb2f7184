import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runWrangler } from "../../local/wrangler";
import { callTool, pgQuery, stack, statementsByRole, text, userToken } from "./support";
import { jwtPayload } from "../support/d1";
import { dynamicRoleName } from "../../src/tools/dynamic-login";

const d1 = (sql: string) => runWrangler(["d1", "execute", "DB", "--local", "--persist-to", join(stack.stateDir, "wrangler"), "--command", sql]);
const REFUSED = "The call was refused because the audit log is unavailable. Nothing was run. Try again later.";
const SQL = "SELECT region, sum(invoiced) AS invoiced FROM reporting.revenue_summary GROUP BY region ORDER BY region";

describe("D1 refuses the audit insert", () => {
  it("refuses every call with 'nothing was run', and Postgres receives no statement at all (pg_stat_statements)", async () => {
    const { token } = await userToken("d1@example.com", "db:read db:sql");
    // The running stack's local D1, changed underneath wrangler dev: every tool.call insert now aborts.
    await d1("CREATE TRIGGER audit_down BEFORE INSERT ON audit_events WHEN NEW.event = 'tool.call' BEGIN SELECT RAISE(ABORT, 'audit store down'); END;");
    try {
      await pgQuery("SELECT pg_stat_statements_reset()");
      const calls = await Promise.all(
        Array.from({ length: 5 }, () => [callTool(token, "numbered", { upto: 1 }), callTool(token, "execute_sql", { sql: SQL }), callTool(token, "slow_report", {})]).flat(),
      );
      for (const c of calls) {
        expect(c.status).toBe(200);
        expect(c.result?.isError).toBe(true);
        expect(text(c.result)).toBe(REFUSED);
        expect(c.result?.structuredContent).toBeUndefined();
      }
      // From Postgres itself: not one statement (not even the transaction's BEGIN or set_config) by any tier role.
      expect(await statementsByRole()).toEqual({});
    } finally {
      await d1("DROP TRIGGER audit_down;");
    }
    // The control: the same calls with D1 healthy do reach Postgres, so the check above can see them. execute_sql is
    // dynamic: pg_stat_statements attributes it to the token's own login, which inherits gatehouse_diagnostic.
    const ok = await callTool(token, "execute_sql", { sql: SQL });
    expect(ok.result?.isError).toBeFalsy();
    const after = await statementsByRole();
    expect(after.gatehouse_diagnostic).toBeGreaterThan(0);
    const login = await dynamicRoleName(jwtPayload(token).jti as string, "gatehouse_diagnostic");
    const ran = await pgQuery<{ query: string }>("SELECT s.query FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = $1", [login]);
    expect(ran.some((r) => r.query.includes("reporting.revenue_summary"))).toBe(true);
  });
});
