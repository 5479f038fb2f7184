import { describe, expect, it } from "vitest";
import { criticalPath, instrumentD1, instrumentEnv, instrumentRateLimit, parseRoundTrips, RoundTripRecorder, ROUND_TRIPS_RESPONSE_HEADER, withRoundTrips } from "../../../src/lib/round-trips";

/** A settable clock: the recorder's offsets come from it, its order from sequence numbers. */
function clock() {
  let t = 1000;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** A promise the test settles by hand, to hold a round trip open. */
function gate<T>() {
  let open!: (v: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

describe("RoundTripRecorder", () => {
  it("records start, end and order of sequential round trips", async () => {
    const c = clock();
    const r = new RoundTripRecorder(c.now);
    await r.track("d1", "first", async () => c.advance(1.5));
    await r.track("neon", "POST", async () => c.advance(2));
    expect(r.events).toEqual([
      { kind: "d1", op: "first", start: 0, end: 1.5, startSeq: 0, endSeq: 1 },
      { kind: "neon", op: "POST", start: 1.5, end: 3.5, startSeq: 2, endSeq: 3 },
    ]);
    expect(criticalPath(r.events)).toMatchObject({ d1BeforeNeon: 1, d1BeforeResponse: 1, d1OpenAtResponse: 0, neon: 1, rateLimitOverlapsD1: undefined });
  });

  it("records a failed round trip as ended and rethrows", async () => {
    const r = new RoundTripRecorder(clock().now);
    await expect(r.track("d1", "run", async () => Promise.reject(new Error("D1_ERROR")))).rejects.toThrow("D1_ERROR");
    expect(r.events[0]).toMatchObject({ endSeq: 1 });
  });

  it("tells a rate-limit call run in parallel with the D1 batch from one run in series", async () => {
    const parallel = new RoundTripRecorder(clock().now);
    const d1 = gate<void>();
    const both = Promise.all([parallel.track("d1", "batch:2", () => d1.promise), parallel.track("rl", "limit", async () => ({ success: true }))]);
    d1.open();
    await both;
    expect(criticalPath(parallel.events).rateLimitOverlapsD1).toBe(true);

    const series = new RoundTripRecorder(clock().now);
    await series.track("d1", "first", async () => undefined);
    await series.track("rl", "limit", async () => ({ success: true }));
    expect(criticalPath(series.events).rateLimitOverlapsD1).toBe(false);

    const alone = new RoundTripRecorder(clock().now);
    await alone.track("rl", "limit", async () => ({ success: true }));
    expect(criticalPath(alone.events).rateLimitOverlapsD1).toBeUndefined();
  });

  it("counts only D1 round trips that ended before the Neon query started as awaited before it", async () => {
    const r = new RoundTripRecorder(clock().now);
    const background = gate<void>();
    await r.track("d1", "first", async () => undefined);
    const pending = r.track("d1", "run", () => background.promise);
    await r.track("neon", "POST", async () => undefined);
    expect(criticalPath(r.events)).toMatchObject({ d1BeforeNeon: 1, d1BeforeResponse: 2, d1OpenAtResponse: 1 });
    background.open();
    await pending;
  });

  it("writes a header that parses back to the same events, open ones included", async () => {
    const c = clock();
    const r = new RoundTripRecorder(c.now);
    await r.track("d1", "batch:3", async () => c.advance(0.25));
    const open = gate<void>();
    const pending = r.track("fetch", "POST", () => open.promise);
    const header = r.header();
    expect(header).toBe("d1:batch:3@0.00-0.25#0-1, fetch:POST@0.25-?#2-?");
    expect(parseRoundTrips(header)).toEqual([
      { kind: "d1", op: "batch:3", start: 0, end: 0.25, startSeq: 0, endSeq: 1 },
      { kind: "fetch", op: "POST", start: 0.25, startSeq: 2 },
    ]);
    open.open();
    await pending;
  });
});

interface Statement {
  bind(...v: unknown[]): Statement;
  first(): Promise<unknown>;
}

/** Just enough of D1's surface to see which calls are recorded and what batch() receives. */
function fakeD1() {
  const batched: unknown[][] = [];
  const created = new Set<unknown>();
  const statement = (sql: string, values: unknown[] = []): Statement => {
    const s: Record<string, unknown> = {
      sql,
      values,
      bind: (...v: unknown[]) => statement(sql, v),
      first: async () => ({ sql, values }),
      all: async () => ({ results: [] }),
      run: async () => ({}),
      raw: async () => [],
    };
    created.add(s);
    return s as unknown as Statement;
  };
  const db = {
    prepare: (sql: string) => statement(sql),
    batch: async (s: Statement[]) => {
      batched.push(s);
      return s.map(() => ({ results: [] }));
    },
    exec: async (_q: string) => ({ count: 0, duration: 0 }),
    dump: async () => new ArrayBuffer(0),
  };
  return { db, batched, created };
}

describe("instrumentD1 and instrumentEnv", () => {
  it("records statements and batches of a request, hands batch() the original statements, and records nothing outside one", async () => {
    const { db, batched, created } = fakeD1();
    const env = instrumentEnv({ DB: db, RL_60: { limit: async (_o: { key: string }) => ({ success: true }) }, PUBLIC_ORIGIN: "http://127.0.0.1:8787" });
    expect(env.PUBLIC_ORIGIN).toBe("http://127.0.0.1:8787");

    await env.DB.prepare("SELECT 1").first(); // outside a recorded request: passes through
    const res = await withRoundTrips(async () => {
      const s = env.DB.prepare("SELECT ?").bind(7);
      expect(await s.first()).toEqual({ sql: "SELECT ?", values: [7] });
      await Promise.all([env.DB.batch([s, env.DB.prepare("SELECT 2")]), env.RL_60.limit({ key: "k" })]);
      await env.DB.exec("SELECT 3");
      return new Response("ok", { status: 201, headers: { "X-Other": "kept" } });
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("X-Other")).toBe("kept");
    expect(await res.text()).toBe("ok");
    const events = parseRoundTrips(res.headers.get(ROUND_TRIPS_RESPONSE_HEADER) ?? "");
    expect(events.map((e) => `${e.kind}:${e.op}`)).toEqual(["d1:first", "d1:batch:2", "rl:limit", "d1:exec"]);
    expect(criticalPath(events)).toMatchObject({ d1BeforeResponse: 3, rateLimitOverlapsD1: true });
    // The real D1 batch() refuses anything but its own statements: the wrappers are unwrapped.
    expect(batched[0]!.every((s) => created.has(s))).toBe(true);
    expect((batched[0]![0] as unknown as { values: unknown[] }).values).toEqual([7]);
  });

  it("keeps one wrapped env per env object, so per-isolate caches keyed by env still hit", () => {
    const { db } = fakeD1();
    const env = { DB: db };
    expect(instrumentEnv(env)).toBe(instrumentEnv(env));
    expect(instrumentEnv(env)).not.toBe(env);
  });

  it("records a rate-limit call as rl and passes its result through", async () => {
    const rl = instrumentRateLimit({ limit: async (_o: { key: string }) => ({ success: false }) });
    const db = instrumentD1(fakeD1().db);
    const res = await withRoundTrips(async () => Response.json(await rl.limit({ key: "x" })));
    expect(await res.json()).toEqual({ success: false });
    expect(res.headers.get(ROUND_TRIPS_RESPONSE_HEADER)).toMatch(/^rl:limit@/);
    expect(typeof db.dump).toBe("function");
  });
});
