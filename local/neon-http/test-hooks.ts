// Fault injection for the resilience suite (test/resilience/, docs/reliability.md). It exists only on an endpoint
// started with `testHooks: true`; the Worker never reaches it (it only POSTs /sql), and every other endpoint
// answers these paths like any unknown path (400 "query is not supported"). Routes, loopback callers only:
// - `PUT /__test/stall` {"ms": n, "match"?: "text"}: every /sql request whose statements contain `match` (all of
//   them without it) waits `ms` before it is run; a client that goes away while waiting runs nothing;
// - `DELETE /__test/stall`: back to normal; requests already waiting keep their delay.
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "./errors";
import type { Payload } from "./payload";

interface Stall {
  ms: number;
  match?: string;
}

export class TestHooks {
  private stall: Stall | undefined;

  /** Answers a /__test/* request; false when the path is not one of them. */
  async route(req: IncomingMessage, body: () => Promise<string>, path: string): Promise<{ status: number; body: string } | false> {
    if (path !== "/__test/stall") return false;
    if (!isLoopback(req.socket.remoteAddress)) throw new HttpError(403, "test hooks answer loopback callers only");
    if (req.method === "DELETE") {
      this.stall = undefined;
      return { status: 200, body: "{}" };
    }
    if (req.method !== "PUT") throw new HttpError(405, "use PUT or DELETE");
    let json: unknown;
    try {
      json = JSON.parse(await body());
    } catch {
      throw new HttpError(400, "the body is not JSON");
    }
    const { ms, match } = (typeof json === "object" && json !== null ? json : {}) as { ms?: unknown; match?: unknown };
    if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0 || ms > 600_000 || (match !== undefined && typeof match !== "string")) {
      throw new HttpError(400, 'expected {"ms": 0..600000, "match"?: string}');
    }
    this.stall = { ms, ...(match !== undefined ? { match } : {}) };
    return { status: 200, body: JSON.stringify(this.stall) };
  }

  /** Waits out the stall that applies to this payload; resolves false when the client went away meanwhile. */
  async delay(payload: Payload, res: ServerResponse): Promise<boolean> {
    const stall = this.stall;
    if (!stall) return true;
    const texts = payload.kind === "single" ? [payload.query.query] : payload.queries.map((q) => q.query);
    if (stall.match !== undefined && !texts.some((t) => t.includes(stall.match!))) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        res.off("close", gone);
        resolve(!res.destroyed);
      }, stall.ms);
      const gone = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      res.once("close", gone);
    });
  }
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}
