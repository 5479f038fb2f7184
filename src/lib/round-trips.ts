import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Round-trip instrumentation for `npm run bench` (docs/benchmark.md): which D1, rate-limit and Neon calls a request
 * makes, in which order, and which of them overlap. Active only for requests that ask for it with
 * {@link ROUND_TRIPS_REQUEST_HEADER} while the variable BENCH_INSTRUMENT is "true" and PUBLIC_ORIGIN is a loopback URL
 * (src/index.ts); otherwise nothing here runs on the request path.
 */

/** d1: a D1 statement or batch; rl: a rate-limit check; neon: a fetch to the Neon endpoint; fetch: any other fetch. */
export type RoundTripKind = "d1" | "rl" | "neon" | "fetch";

export interface RoundTrip {
  kind: RoundTripKind;
  /** The operation: first/all/run/raw, batch:<statements>, exec, limit, or the fetch's method. */
  op: string;
  /** Milliseconds since the recorder started (the Workers clock advances only across I/O). */
  start: number;
  end?: number;
  /** Order of this event's start and end among all starts and ends: exact even where the clock did not move. */
  startSeq: number;
  endSeq?: number;
}

/** Set on a request to have its round trips listed in {@link ROUND_TRIPS_RESPONSE_HEADER}. */
export const ROUND_TRIPS_REQUEST_HEADER = "x-gatehouse-round-trips";
/** The events that started before the response was returned; an end of "?" means still running then. */
export const ROUND_TRIPS_RESPONSE_HEADER = "x-gatehouse-round-trips";

export class RoundTripRecorder {
  readonly events: RoundTrip[] = [];
  private seq = 0;
  private readonly t0: number;

  constructor(private readonly now: () => number) {
    this.t0 = now();
  }

  /** Runs `f` as one round trip of `kind`, recording its start and its settlement (success or failure). */
  async track<T>(kind: RoundTripKind, op: string, f: () => Promise<T>): Promise<T> {
    const event: RoundTrip = { kind, op, start: this.now() - this.t0, startSeq: this.seq++ };
    this.events.push(event);
    try {
      return await f();
    } finally {
      event.end = this.now() - this.t0;
      event.endSeq = this.seq++;
    }
  }

  /** `kind:op@start-end#startSeq-endSeq` per event, comma-separated, in start order. */
  header(): string {
    return this.events.map((e) => `${e.kind}:${e.op}@${e.start.toFixed(2)}-${e.end === undefined ? "?" : e.end.toFixed(2)}#${e.startSeq}-${e.endSeq ?? "?"}`).join(", ");
  }
}

/** Reads {@link RoundTripRecorder.header} back (the bench's side). */
export function parseRoundTrips(header: string): RoundTrip[] {
  const out: RoundTrip[] = [];
  for (const part of header.split(",")) {
    const m = /^(d1|rl|neon|fetch):([^@]+)@([\d.]+)-([\d.]+|\?)#(\d+)-(\d+|\?)$/.exec(part.trim());
    if (!m) continue;
    out.push({
      kind: m[1] as RoundTripKind,
      op: m[2]!,
      start: Number(m[3]),
      ...(m[4] === "?" ? {} : { end: Number(m[4]) }),
      startSeq: Number(m[5]),
      ...(m[6] === "?" ? {} : { endSeq: Number(m[6]) }),
    });
  }
  return out;
}

/** What the bench reports per call kind, derived from one request's events. */
export interface CriticalPath {
  /** D1 round trips that completed before the Neon query started (all before-response ones when there is none). */
  d1BeforeNeon: number;
  /** D1 round trips started before the response (awaited or not). */
  d1BeforeResponse: number;
  /** D1 round trips still running when the response was returned (off the critical path). */
  d1OpenAtResponse: number;
  /** Whether a rate-limit call ran at the same time as a D1 call (neither ended before the other started); undefined without both. */
  rateLimitOverlapsD1: boolean | undefined;
  neon: number;
}

export function criticalPath(events: RoundTrip[]): CriticalPath {
  const d1 = events.filter((e) => e.kind === "d1");
  const neon = events.filter((e) => e.kind === "neon");
  const firstNeon = neon.length > 0 ? Math.min(...neon.map((e) => e.startSeq)) : Number.POSITIVE_INFINITY;
  const rl = events.filter((e) => e.kind === "rl");
  const overlaps = (a: RoundTrip, b: RoundTrip) => a.startSeq < (b.endSeq ?? Number.POSITIVE_INFINITY) && b.startSeq < (a.endSeq ?? Number.POSITIVE_INFINITY);
  return {
    d1BeforeNeon: d1.filter((e) => e.endSeq !== undefined && e.endSeq < firstNeon).length,
    d1BeforeResponse: d1.length,
    d1OpenAtResponse: d1.filter((e) => e.endSeq === undefined).length,
    rateLimitOverlapsD1: rl.length === 0 || d1.length === 0 ? undefined : rl.some((r) => d1.some((d) => overlaps(r, d))),
    neon: neon.length,
  };
}

const storage = new AsyncLocalStorage<RoundTripRecorder>();

function track<T>(kind: RoundTripKind, op: string, f: () => Promise<T>): Promise<T> {
  const recorder = storage.getStore();
  return recorder ? recorder.track(kind, op, f) : f();
}

/**
 * The parts of the D1 and rate-limit bindings that are wrapped, typed structurally (D1Database and RateLimit fit)
 * so that this module also compiles for the bench and unit tests on Node.
 */
interface StatementLike {
  bind(...values: unknown[]): StatementLike;
}
interface D1Like {
  prepare(query: string): StatementLike;
  batch(statements: StatementLike[]): Promise<unknown>;
  exec(query: string): Promise<unknown>;
}
interface LimiterLike {
  limit(options: { key: string }): Promise<unknown>;
}

/** The statement a wrapped one stands for: D1's batch() takes only its own statements. */
const unwrapped = new WeakMap<object, StatementLike>();

const STATEMENT_CALLS = new Set<PropertyKey>(["first", "all", "run", "raw"]);

function passThrough(target: object, prop: PropertyKey): unknown {
  const value: unknown = Reflect.get(target, prop, target);
  return typeof value === "function" ? value.bind(target) : value;
}

function wrapStatement(statement: StatementLike): StatementLike {
  const wrapped = new Proxy(statement, {
    get(target, prop) {
      if (prop === "bind") return (...values: unknown[]) => wrapStatement(target.bind(...values));
      if (STATEMENT_CALLS.has(prop)) {
        const method = Reflect.get(target, prop, target) as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => track("d1", String(prop), () => method.apply(target, args));
      }
      return passThrough(target, prop);
    },
  });
  unwrapped.set(wrapped, statement);
  return wrapped;
}

export function instrumentD1<D extends D1Like>(db: D): D {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query));
      if (prop === "batch") return (statements: StatementLike[]) => track("d1", `batch:${statements.length}`, () => target.batch(statements.map((s) => unwrapped.get(s) ?? s)));
      if (prop === "exec") return (query: string) => track("d1", "exec", () => target.exec(query));
      return passThrough(target, prop);
    },
  });
}

export function instrumentRateLimit<L extends LimiterLike>(limiter: L): L {
  return new Proxy(limiter, {
    get(target, prop) {
      if (prop === "limit") return (options: { key: string }) => track("rl", "limit", () => target.limit(options));
      return passThrough(target, prop);
    },
  });
}

const instrumentedEnvs = new WeakMap<object, object>();

/**
 * The env with DB and every RL_* binding recording into the current request's recorder. One wrapper per env object
 * (the wrappers find the recorder through AsyncLocalStorage), so per-isolate caches keyed by env keep working.
 */
export function instrumentEnv<E extends object>(env: E): E {
  const cached = instrumentedEnvs.get(env);
  if (cached) return cached as E;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key === "DB" && typeof value === "object" && value !== null) out[key] = instrumentD1(value as D1Like);
    else if (/^RL_\d+$/.test(key) && typeof value === "object" && value !== null) out[key] = instrumentRateLimit(value as LimiterLike);
    else out[key] = value;
  }
  instrumentedEnvs.set(env, out);
  return out as E;
}

let fetchInstrumented = false;

/**
 * Wraps globalThis.fetch once per isolate: a fetch inside a recorded request is a "neon" round trip when its URL
 * is the Neon endpoint (the driver resolves the global fetch at call time), otherwise "fetch". Outside a recorded
 * request the wrapper only calls through.
 */
export function instrumentFetch(neonEndpoint: string | undefined): void {
  if (fetchInstrumented) return;
  fetchInstrumented = true;
  const original = globalThis.fetch;
  const wrapped: typeof fetch = (input, init) => {
    const recorder = storage.getStore();
    if (!recorder) return original(input, init);
    const url = input instanceof Request ? input.url : String(input);
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    return recorder.track(neonEndpoint && url.startsWith(neonEndpoint) ? "neon" : "fetch", method, () => original(input, init));
  };
  globalThis.fetch = wrapped;
}

/** Runs `handler` with a fresh recorder and adds the events that started before its response as a header. */
export async function withRoundTrips(handler: () => Promise<Response>, now: () => number = () => performance.now()): Promise<Response> {
  const recorder = new RoundTripRecorder(now);
  const response = await storage.run(recorder, handler);
  const headers = new Headers(response.headers);
  headers.set(ROUND_TRIPS_RESPONSE_HEADER, recorder.header());
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
