import { describe, expect, it, vi } from "vitest";
import type { Caller } from "../../../src/caller";
import type { AuditEvent } from "../../../src/audit/event";
import { AuditUnavailable } from "../../../src/audit/unavailable";
import type { ApprovalRow } from "../../../src/approvals/state";
import type { ToolDefinition } from "../../../src/policy/types";
import { runToolCall, type CallContext } from "../../../src/tools/pipeline";
import type { CallerVerdict, PipelinePorts } from "../../../src/tools/ports";

const NOW_MS = Date.parse("2026-11-29T12:00:00.000Z");

const caller: Caller = {
  claims: {
    iss: "i",
    aud: "a",
    sub: "user:ann@example.com",
    exp: 2_000_000_000,
    iat: 1_000,
    jti: "jti-1",
    client_id: "c-1",
    scope: "db:read db:write",
    sid: "s-1",
    ws: "demo",
    pk: "user",
    email: "ann@example.com",
  },
  principal: { id: "user:ann@example.com", kind: "user", email: "ann@example.com", groups: [], workspace: "demo" },
};

function tool(over: Partial<ToolDefinition> = {}): ToolDefinition {
  return {
    name: "orders",
    title: "Orders",
    description: "d",
    kind: "read",
    dbRole: "reporting",
    tier: "read",
    secret: "DB_URL_REPORTING",
    sql: "SELECT id FROM reporting.orders WHERE region = $1",
    inputSchema: { type: "object", properties: { region: { type: "string" } }, additionalProperties: false },
    bind: ["region"],
    identity: {},
    safeParams: ["region"],
    limits: { maxRows: 10, maxBytes: 10_000, timeoutMs: 1000, ratePerMinute: 60 },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    requiresApproval: false,
    version: "0123456789abcdef",
    ...over,
  };
}

const writeTool = tool({
  name: "close_order",
  kind: "write",
  tier: "write",
  secret: "DB_URL_WRITER",
  sql: "UPDATE sales.orders SET closed = true WHERE id = $1 RETURNING id",
  inputSchema: { type: "object", properties: { id: { type: "integer" } }, additionalProperties: false },
  bind: ["id"],
  safeParams: ["id"],
  requiresApproval: true,
  limits: { maxRows: 10, maxBytes: 10_000, timeoutMs: 1000, ratePerMinute: 60, maxAffectedRows: 1 },
});

interface Options {
  /** What the one round trip with the intent finds; `throw` when the intent cannot be written. */
  admit?: CallerVerdict | "throw";
  check?: CallerVerdict;
  allowed?: boolean | Promise<boolean>;
  claim?: boolean;
  approval?: Partial<ApprovalRow> | null;
}

/** In-memory ports that log every effect, in order. */
function fakes(o: Options = {}) {
  const log: string[] = [];
  const rows: AuditEvent[] = [];
  const completions: Array<{ id: string; outcome: string; rule?: string }> = [];
  const background: Promise<unknown>[] = [];
  let resolveAdmitted: () => void = () => {};
  let release: () => void = () => {};
  // Completions land only when the test releases them: a pipeline that awaited one would never return.
  const released = new Promise<void>((r) => (release = r));
  const admitted = new Promise<void>((r) => (resolveAdmitted = r));
  const ports: PipelinePorts = {
    gate: {
      async check() {
        log.push("caller-state");
        return o.check ?? { kind: "ok" };
      },
      async admit(intent) {
        log.push("intent");
        resolveAdmitted();
        if (o.admit === "throw") throw new AuditUnavailable("down");
        rows.push(intent);
        return o.admit ?? { kind: "ok" };
      },
    },
    audit: {
      async record(e) {
        log.push(`record:${e.outcome}:${e.rule ?? ""}`);
        rows.push(e);
      },
      async recordBounded(e) {
        log.push(`record-bounded:${e.outcome}:${e.rule ?? ""}`);
      },
      async complete(id, c) {
        await released;
        log.push(`complete:${c.outcome}${c.rule ? `:${c.rule}` : ""}`);
        completions.push({ id, outcome: c.outcome, ...(c.rule ? { rule: c.rule } : {}) });
      },
      async throttled(intent, c) {
        log.push(`throttled:${c.outcome}:${c.rule}`);
        completions.push({ id: intent.id, outcome: c.outcome, ...(c.rule ? { rule: c.rule } : {}) });
      },
    },
    db: {
      bindingProblem: () => undefined,
      hasCredential: () => true,
      login: async () => undefined,
      async execute(t) {
        log.push("execute");
        return t.kind === "write"
          ? {
              ok: true,
              result: {
                fields: [
                  { name: "affected_rows", dataTypeID: 23 },
                  { name: "limit_check", dataTypeID: 2205 },
                ],
                rows: [["1", null]],
              },
              dbMs: 1,
            }
          : { ok: true, result: { fields: [{ name: "id", dataTypeID: 23 }], rows: [["1"], ["2"]] }, dbMs: 1 };
      },
    },
    approvals: {
      async latest() {
        log.push("approval-read");
        if (o.approval === null || o.approval === undefined) return null;
        return { id: "ap-1", status: "approved", expires_at: 2_000_000_000, tool_version: writeTool.version, refusal_reported: 0, ...o.approval } as ApprovalRow;
      },
      async file() {
        log.push("approval-file");
        return true;
      },
      async markRefusalReported() {
        log.push("approval-reported");
      },
      async claim() {
        log.push("claim");
        return o.claim ?? true;
      },
      async finish(_id, status) {
        log.push(`approval-${status}`);
      },
      async taskCreator() {
        return null;
      },
    },
    limiter: {
      allow() {
        log.push("rate-limit");
        return Promise.resolve(o.allowed ?? true);
      },
    },
    clock: { ms: () => NOW_MS, seconds: () => Math.floor(NOW_MS / 1000) },
    background: (p) => void background.push(p),
    notify: () => log.push("notify"),
  };
  const ctx: CallContext = { caller, issuer: "https://gw.example", guard: async () => ({ ok: true, tree: {} }) as never };
  return {
    ports,
    ctx,
    log,
    rows,
    completions,
    admitted,
    settle: () => {
      release();
      return Promise.all(background);
    },
  };
}

describe("the tools/call pipeline", () => {
  it("runs a read call in one direction: rate limit and intent together, then execute, then completion off the response path", async () => {
    const f = fakes();
    const out = await runToolCall(f.ports, f.ctx, tool(), { region: "EU" });
    expect(out.kind).toBe("result");
    // Completion is handed to waitUntil and held back here: the result came back without waiting for it.
    expect(f.log).toEqual(["rate-limit", "intent", "execute"]);
    await f.settle();
    expect(f.log).toEqual(["rate-limit", "intent", "execute", "complete:ok"]);
    expect(f.rows[0]).toMatchObject({ outcome: "started", tool: "orders", params: { region: "EU" }, principal: "user:ann@example.com", workspace: "demo" });
    expect(f.rows[0]!.sqlHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("names a dynamic credential's per-token login in the intent row, beside the tier role", async () => {
    const f = fakes();
    f.ports.db.login = async () => "gh_0123456789abcdef";
    await runToolCall(f.ports, f.ctx, tool(), { region: "EU" });
    expect(f.rows[0]).toMatchObject({ outcome: "started", dbRole: "reporting", dbLogin: "gh_0123456789abcdef" });
    const plain = fakes();
    await runToolCall(plain.ports, plain.ctx, tool(), { region: "EU" });
    expect(plain.rows[0]).not.toHaveProperty("dbLogin");
  });

  it.each([
    ["revoked", { ok: false, kind: "revoked", dbMs: 3 }, "credential_revoked", "database login of this access token was revoked"],
    ["login_failed", { ok: false, kind: "login_failed", sqlstate: "42501", dbMs: 3 }, "credential_unavailable", "database login for this call could not be set up"],
  ] as const)("answers a %s dynamic login with a clear tool error and audits its rule", async (_kind, outcome, rule, message) => {
    const f = fakes();
    f.ports.db.execute = async () => outcome;
    const out = await runToolCall(f.ports, f.ctx, tool(), { region: "EU" });
    expect(out.kind === "result" && out.result).toMatchObject({ isError: true, content: [{ text: expect.stringContaining(message) }] });
    await f.settle();
    expect(f.completions).toEqual([{ id: f.rows[0]!.id, outcome: "error", rule }]);
  });

  it("logs a completion that cannot be written, with what failed, instead of dropping it silently", async () => {
    const f = fakes();
    f.ports.audit.complete = async () => {
      throw new Error("D1_ERROR: database is locked");
    };
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const out = await runToolCall(f.ports, f.ctx, tool(), { region: "EU" });
      expect(out.kind).toBe("result");
      await f.settle();
      expect(logged).toHaveBeenCalledTimes(1);
      expect(JSON.parse(String(logged.mock.calls[0]![0]))).toMatchObject({ level: "error", what: "call audit completion", reason: "Error: D1_ERROR: database is locked" });
    } finally {
      logged.mockRestore();
    }
  });

  it("never awaits the rate limit before the intent's round trip: the limiter may answer only after the intent was sent", async () => {
    const f = fakes();
    // Resolves only once the intent has been sent: a pipeline that awaited the limit first would never finish.
    f.ports.limiter.allow = () => f.admitted.then(() => true);
    const out = await runToolCall(f.ports, f.ctx, tool(), {});
    expect(out.kind).toBe("result");
    expect(f.log).toContain("execute");
  });

  it("executes nothing when the intent cannot be written, and says the audit log is unavailable", async () => {
    const f = fakes({ admit: "throw" });
    const out = await runToolCall(f.ports, f.ctx, tool(), {});
    await f.settle();
    expect(out).toEqual({
      kind: "result",
      result: { content: [{ type: "text", text: "The call was refused because the audit log is unavailable. Nothing was run. Try again later." }], isError: true },
    });
    expect(f.log).not.toContain("execute");
    expect(f.completions).toEqual([]);
  });

  it("refuses a caller the intent's round trip finds revoked, runs nothing, and marks that intent row", async () => {
    const f = fakes({ admit: { kind: "refused", failure: { kind: "revoked", what: "session" } } });
    const out = await runToolCall(f.ports, f.ctx, tool(), {});
    await f.settle();
    expect(out).toEqual({ kind: "unauthorized", failure: { kind: "revoked", what: "session" }, audited: true });
    expect(f.log).not.toContain("execute");
    expect(f.completions).toEqual([{ id: f.rows[0]!.id, outcome: "denied", rule: "token:revoked:session" }]);
  });

  it("does not run a call decided on an older policy version: the row says why and the caller decides again", async () => {
    const f = fakes({ admit: { kind: "stale", version: 7 } });
    const out = await runToolCall(f.ports, f.ctx, tool(), {});
    await f.settle();
    expect(out).toEqual({ kind: "stale", version: 7 });
    expect(f.log).not.toContain("execute");
    expect(f.completions).toEqual([{ id: f.rows[0]!.id, outcome: "denied", rule: "policy_changed" }]);
  });

  it("audits a rate-limited call as rate_limited and runs nothing, though its intent went out with the limit check", async () => {
    const f = fakes({ allowed: false });
    const out = await runToolCall(f.ports, f.ctx, tool(), {});
    await f.settle();
    expect(out.kind === "result" && out.result.isError).toBe(true);
    expect(f.log).toEqual(["rate-limit", "intent", "throttled:rate_limited:rate_per_minute:60"]);
  });

  it("claims an approval only after its intent is durable, and executes only after the claim", async () => {
    const f = fakes({ approval: { status: "approved" } });
    const out = await runToolCall(f.ports, f.ctx, writeTool, { id: 5 });
    await f.settle();
    expect(out.kind).toBe("result");
    expect(f.log).toEqual(["rate-limit", "caller-state", "approval-read", "intent", "claim", "execute", "approval-executed", "complete:ok"]);
  });

  it("executes nothing when the claim is lost to a concurrent identical call", async () => {
    const f = fakes({ approval: { status: "approved" }, claim: false });
    const out = await runToolCall(f.ports, f.ctx, writeTool, { id: 5 });
    await f.settle();
    expect(out.kind === "result" && out.result.content[0]).toMatchObject({ text: expect.stringContaining("already executed") });
    expect(f.log).toEqual(["rate-limit", "caller-state", "approval-read", "intent", "claim", "complete:denied:approval:already_used"]);
  });

  it("neither claims nor executes when the intent of an approved write cannot be written", async () => {
    const f = fakes({ approval: { status: "approved" }, admit: "throw" });
    await runToolCall(f.ports, f.ctx, writeTool, { id: 5 });
    await f.settle();
    expect(f.log).not.toContain("claim");
    expect(f.log).not.toContain("execute");
  });

  it("answers a refusal that runs nothing only after the caller is checked: a revoked caller gets 401, not the refusal", async () => {
    const f = fakes({ check: { kind: "refused", failure: { kind: "revoked", what: "principal" } } });
    const out = await runToolCall(f.ports, f.ctx, tool(), { region: 42 });
    await f.settle();
    expect(out).toEqual({ kind: "unauthorized", failure: { kind: "revoked", what: "principal" }, audited: false });
    expect(f.log).toEqual(["rate-limit", "caller-state"]);
  });

  it("records invalid arguments as one row, with no intent and nothing executed", async () => {
    const f = fakes();
    await runToolCall(f.ports, f.ctx, tool(), { region: 42 });
    await f.settle();
    expect(f.log).toEqual(["rate-limit", "caller-state", "record:invalid_arguments:input_schema"]);
  });
});
