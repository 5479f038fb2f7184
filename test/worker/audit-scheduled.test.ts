import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { verifyChain, type AuditRow } from "../../src/audit/chain";

async function insert(id: string, time: string, outcome = "ok"): Promise<void> {
  await env.DB.prepare("INSERT INTO audit_events (id, time, event, outcome) VALUES (?, ?, 'test.event', ?)").bind(id, time, outcome).run();
}

describe("the audit Cron Trigger", () => {
  it("seals completed rows into a verifiable chain, waits for calls in flight, and purges archived rows past the hot window", async () => {
    const now = Date.now();
    const days = (n: number) => new Date(now - n * 24 * 3600 * 1000).toISOString();
    await insert("old-1", days(500));
    await insert("old-2", days(450));
    await insert("recent", days(1));
    await insert("in-flight", new Date(now - 1000).toISOString(), "started");

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    const rows = (await env.DB.prepare("SELECT * FROM audit_events WHERE event = 'test.event' ORDER BY seq").all<AuditRow>()).results;
    expect(rows.map((r) => r.id)).toEqual(["recent", "in-flight"]); // archived to R2 and past the 30-day hot window: purged
    expect(rows[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[1]!.hash).toBeNull(); // still running: not sealed yet
    const anchor = await env.DB.prepare("SELECT seq, hash FROM audit_anchor WHERE id = 1").first<{ seq: number; hash: string }>();
    const all = (await env.DB.prepare("SELECT * FROM audit_events ORDER BY seq").all<AuditRow>()).results;
    expect(await verifyChain(all, anchor)).toMatchObject({ ok: true });
  });
});
