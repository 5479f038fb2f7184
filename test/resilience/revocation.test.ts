import { describe, expect, it } from "vitest";
import { devToken } from "../support/mcp-client";
import { callTool, stack, userToken, type Call } from "./support";

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = () => (check() ? resolve() : setTimeout(tick, 5));
    tick();
  });
}

describe("revocation under load", () => {
  it("refuses every call that starts after the revocation answered, with 32 calls in flight", async () => {
    const { token } = await userToken("revoked@example.com");
    const admin = await devToken(stack, { user: "admin@example.com", workspace: "resilience", scope: "gatehouse:admin" });
    const calls: Call[] = [];
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 32 }, async () => {
        while (!stop) calls.push(await callTool(token, "numbered", { upto: 1 }));
      }),
    );
    await until(() => calls.length >= 64);
    const sent = performance.now();
    const res = await fetch(`${stack.workerUrl}/admin/api/revocations`, {
      method: "POST",
      headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" },
      body: JSON.stringify({ kind: "user", value: "revoked@example.com", reason: "resilience suite" }),
    });
    const answered = performance.now();
    expect(res.status).toBe(200);
    await until(() => calls.filter((c) => c.started > answered).length >= 64);
    stop = true;
    await load;

    const accepted = calls.filter((c) => c.status === 200);
    const refused = calls.filter((c) => c.status === 401);
    expect(accepted.length + refused.length).toBe(calls.length);
    for (const c of accepted) expect(c.result?.structuredContent?.row_count).toBe(1);
    // Before the revocation was sent every call ran; after it answered, none did.
    expect(calls.filter((c) => c.started < sent).every((c) => c.status === 200)).toBe(true);
    const after = calls.filter((c) => c.started > answered);
    expect(after.length).toBeGreaterThanOrEqual(64);
    expect(after.every((c) => c.status === 401)).toBe(true);
    const lastAccepted = Math.max(...accepted.map((c) => c.started));
    const firstRefused = Math.min(...refused.map((c) => c.started));
    console.log(
      `revocation: the admin call took ${(answered - sent).toFixed(0)} ms; the last accepted call started ${(lastAccepted - sent).toFixed(0)} ms after it was sent, ` +
        `the first refused one ${(firstRefused - sent).toFixed(0)} ms after; ${calls.filter((c) => c.started >= sent && c.started <= answered).length} calls started inside the window ` +
        `(${accepted.filter((c) => c.started >= sent).length} accepted), ${after.length} after it (all refused)`,
    );
  });
});
