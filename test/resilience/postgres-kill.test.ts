import { describe, expect, it } from "vitest";
import { callTool, completedAuditRows, control, text, userToken, type Call } from "./support";

// The mixed load: a fast read, a read that holds its connection for 2 s (so calls are certainly in flight at the
// kill), and guarded SQL on the sql tier. Each has timeout_ms 5000 (test/resilience/policy.yaml).
const MIX: Array<[string, Record<string, unknown>]> = [
  ["numbered", { upto: 3 }],
  ["slow_report", {}],
  ["execute_sql", { sql: "SELECT region, sum(invoiced) AS invoiced FROM reporting.revenue_summary GROUP BY region ORDER BY region" }],
];
const TIMEOUT_MS = 5000;
// The Worker aborts the database fetch 2 s past the tool's timeout (src/tools/neon.ts); the rest is slack for a
// loaded 2-core machine.
const CALL_BOUND_MS = TIMEOUT_MS + 2000 + 3000;
// A call whose backend was running when Postgres went down may instead get SQLSTATE 57P01 (admin_shutdown) from it:
// that is the "terminated" answer (src/tools/pg-errors.ts), which says nothing was changed.
const UNREACHABLE = [
  "The database could not be reached. Try again later.",
  "The database is unavailable right now. Try again later.",
  "The database ended this query before it finished (a revocation of this access, an administrator or a shutdown terminated its connection). Nothing was changed.",
];

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = () => (check() ? resolve() : setTimeout(tick, 10));
    tick();
  });
}

describe("Postgres killed mid-load", () => {
  it("ends every call in flight with a tool error, completes its audit row as an error, and recovers without restarting the Worker", async () => {
    const { token, jti } = await userToken("killer@example.com", "db:read db:sql");
    const calls: Call[] = [];
    let stop = false;
    let n = 0;
    const load = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (!stop) {
          const [tool, args] = MIX[n++ % MIX.length]!;
          calls.push(await callTool(token, tool, args));
        }
      }),
    );
    // Kill once the load is flowing and at least one slow call has completed normally.
    await until(() => calls.filter((c) => !c.result?.isError).length >= 32 && calls.some((c) => c.tool === "slow_report"));
    const killing = performance.now();
    const kill = await control("postgres/kill");
    const killedAt = performance.now();
    // Keep calling while Postgres is down.
    await until(() => calls.filter((c) => c.started > killedAt).length >= 48);
    stop = true;
    await load;

    const restarting = performance.now();
    const restart = await control("postgres/start");
    const up = performance.now();
    const probes: Call[] = [];
    for (;;) {
      const probe = await callTool(token, "numbered", { upto: 1 });
      probes.push(probe);
      if (!probe.result?.isError || performance.now() - up > 60_000) break;
    }
    const recovered = probes.at(-1)!;
    const recoveryMs = recovered.ended - up;
    console.log(
      `postgres kill: ${calls.length} calls at c=16, ${calls.filter((c) => c.started < killing && c.ended > killedAt).length} in flight at the kill (which took ${kill.ms.toFixed(0)} ms); ` +
        `restart took ${restart.ms.toFixed(0)} ms (${(up - restarting).toFixed(0)} ms round trip); first successful call ${recoveryMs.toFixed(0)} ms after Postgres was up ` +
        `(${(recovered.ended - killedAt).toFixed(0)} ms after the kill, ${probes.length - 1} probe(s) refused first)`,
    );
    expect(recovered.result?.isError).toBeFalsy();
    expect(recovered.result?.structuredContent?.row_count).toBe(1);

    // No 5xx, no hang, no HTTP-level or JSON-RPC-level error: every call is answered as a tool result.
    for (const c of [...calls, ...probes]) {
      expect(c.status).toBe(200);
      expect(c.result).toBeDefined();
      expect(c.ended - c.started).toBeLessThan(CALL_BOUND_MS);
    }
    const affected = calls.filter((c) => c.ended > killedAt);
    const failed = [...calls, ...probes].filter((c) => c.result!.isError);
    expect(calls.filter((c) => c.started < killing && c.ended > killedAt && c.result!.isError).length).toBeGreaterThan(0);
    expect(affected.filter((c) => c.started > killedAt).every((c) => c.result!.isError)).toBe(true);
    for (const c of failed) expect(UNREACHABLE).toContain(text(c.result));

    // One audit row per call, none left `started`; exactly the failed calls are errors, with an availability rule.
    const rows = await completedAuditRows(jti, calls.length + probes.length);
    expect(rows.length).toBe(calls.length + probes.length);
    expect(rows.filter((r) => r.outcome === "started")).toEqual([]);
    const errors = rows.filter((r) => r.outcome === "error");
    expect(errors.length).toBe(failed.length);
    expect(rows.filter((r) => r.outcome !== "error" && r.outcome !== "ok")).toEqual([]);
    expect([...new Set(errors.map((r) => r.rule))].every((rule) => rule === "unreachable" || rule === "unavailable" || rule === "terminated")).toBe(true);
  });
});
