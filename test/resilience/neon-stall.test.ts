import { afterEach, describe, expect, it } from "vitest";
import { callTool, completedAuditRows, stack, stall, text, userToken, type Call } from "./support";

// The Worker aborts a database request 2 s past the tool's timeout_ms (src/tools/neon.ts): the statement_timeout
// cannot fire when the request never reaches Postgres. Slack on top for a loaded 2-core machine.
const CLIENT_GRACE_MS = 2000;
const SLACK_MS = 3000;

afterEach(async () => stall(undefined));

describe("the Neon endpoint stalls for 10 s", () => {
  it("ends each stalled call at its own timeout_ms with a deadline error, audited as such, while other calls keep answering", async () => {
    const { token, jti } = await userToken("staller@example.com");
    // Only statements carrying the marker stall (test/resilience/policy.yaml): quick_stalled (300 ms) and
    // patient_stalled (3000 ms); numbered is the control that must keep answering meanwhile.
    await stall({ ms: 10_000, match: "stall-me" });
    const stalled = Promise.all([...Array.from({ length: 4 }, () => callTool(token, "quick_stalled", {})), ...Array.from({ length: 4 }, () => callTool(token, "patient_stalled", {}))]);
    const others: Call[] = [];
    const listed: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 2500) {
      others.push(await callTool(token, "numbered", { upto: 2 }));
      const list = await fetch(stack.mcpUrl, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
      });
      await list.text();
      listed.push(list.status);
    }
    const results = await stalled;
    const limits: Record<string, number> = { quick_stalled: 300, patient_stalled: 3000 };
    for (const c of results) {
      const limit = limits[c.tool]!;
      const took = c.ended - c.started;
      expect(c.status).toBe(200);
      expect(c.result?.isError).toBe(true);
      expect(text(c.result)).toBe(`The query exceeded this tool's time limit of ${limit} ms.`);
      expect(took).toBeGreaterThanOrEqual(limit);
      expect(took).toBeLessThan(limit + CLIENT_GRACE_MS + SLACK_MS);
    }
    console.log(
      `neon stall: quick_stalled (300 ms) ended after ${results
        .slice(0, 4)
        .map((c) => (c.ended - c.started).toFixed(0))
        .join("/")} ms, ` +
        `patient_stalled (3000 ms) after ${results
          .slice(4)
          .map((c) => (c.ended - c.started).toFixed(0))
          .join("/")} ms; ` +
        `${others.length} other calls answered meanwhile, slowest ${Math.max(...others.map((c) => c.ended - c.started)).toFixed(0)} ms`,
    );
    // The isolate is not wedged: unstalled calls and listings answered normally during the stall.
    expect(others.length).toBeGreaterThan(2);
    for (const c of others) expect(c.result?.structuredContent?.row_count).toBe(2);
    expect(listed.every((s) => s === 200)).toBe(true);

    const rows = await completedAuditRows(jti, results.length + others.length);
    const stalledRows = rows.filter((r) => r.tool !== "numbered");
    expect(stalledRows.length).toBe(8);
    for (const r of stalledRows) expect(r).toMatchObject({ outcome: "error", rule: "deadline" });
    expect(rows.filter((r) => r.tool === "numbered").every((r) => r.outcome === "ok")).toBe(true);
  });
});
