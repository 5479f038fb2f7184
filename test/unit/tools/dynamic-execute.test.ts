import { describe, expect, it } from "vitest";
import type { EnsureLoginOutcome } from "../../../src/tools/broker";
import { executeAsLogin } from "../../../src/tools/dynamic-execute";
import type { DbOutcome } from "../../../src/tools/neon";

const OK: DbOutcome = { ok: true, result: { fields: [], rows: [] }, dbMs: 1 };
const refused = (sqlstate: string): DbOutcome => ({ ok: false, kind: "db_error", sqlstate, dbMs: 1 });

/** Runs executeAsLogin over scripted answers; the log shows every round trip in order. */
async function scripted(runs: DbOutcome[], ensured: EnsureLoginOutcome = { ok: true, status: "created" }) {
  const log: string[] = [];
  let t = 0;
  const outcome = await executeAsLogin({
    run: async () => {
      log.push("run");
      t += 100;
      return runs.shift() ?? OK;
    },
    ensure: async () => {
      log.push("ensure");
      t += 50;
      return ensured;
    },
    now: () => t,
  });
  return { outcome, log };
}

describe("a statement on a dynamic credential", () => {
  it("costs one round trip once the login exists: no broker call", async () => {
    const { outcome, log } = await scripted([OK]);
    expect(outcome.ok).toBe(true);
    expect(log).toEqual(["run"]);
  });

  it.each(["28P01", "28000"])("creates the login through the broker when it is refused (%s), then retries once", async (sqlstate) => {
    const { outcome, log } = await scripted([refused(sqlstate), OK]);
    // dbMs covers both attempts and the broker call.
    expect(outcome).toMatchObject({ ok: true, dbMs: 250 });
    expect(log).toEqual(["run", "ensure", "run"]);
  });

  it("also retries when another call created the login meanwhile (exists)", async () => {
    const { outcome, log } = await scripted([refused("28P01"), OK], { ok: true, status: "exists" });
    expect(outcome.ok).toBe(true);
    expect(log).toEqual(["run", "ensure", "run"]);
  });

  it("reports a revoked login as revoked and does not retry", async () => {
    const { outcome, log } = await scripted([refused("28000")], { ok: true, status: "revoked" });
    expect(outcome).toMatchObject({ ok: false, kind: "revoked" });
    expect(log).toEqual(["run", "ensure"]);
  });

  it("reports a broker failure, or a login still refused after it, as login_failed with the SQLSTATE; never a third attempt", async () => {
    expect((await scripted([refused("28P01")], { ok: false, kind: "db_error", sqlstate: "42501" })).outcome).toMatchObject({ ok: false, kind: "login_failed", sqlstate: "42501" });
    expect((await scripted([refused("28P01")], { ok: false, kind: "unreachable" })).outcome).toMatchObject({ ok: false, kind: "login_failed" });
    const again = await scripted([refused("28P01"), refused("28P01"), OK]);
    expect(again.outcome).toMatchObject({ ok: false, kind: "login_failed", sqlstate: "28P01" });
    expect(again.log).toEqual(["run", "ensure", "run"]);
  });

  it("passes every other error through without a broker call (mapped by SQLSTATE as for a static credential)", async () => {
    const { outcome, log } = await scripted([refused("57014")]);
    expect(outcome).toMatchObject({ ok: false, kind: "db_error", sqlstate: "57014" });
    expect(log).toEqual(["run"]);
  });
});
