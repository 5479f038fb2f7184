// The local Neon SQL-over-HTTP endpoint that dev and tests use in place of Neon (docs/neon-http.md), backed by a real
// Postgres through pg. Routes: `POST /sql` runs a query or a batch; `OPTIONS /sql` answers the CORS preflight;
// anything else is a 400 "query is not supported". It binds 127.0.0.1 only, never logs connection strings,
// and answers unexpected failures with a JSON error that carries no internals.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody } from "./body";
import { cancelRunningStatement } from "./cancel";
import { errorResponse, plainErrorBody } from "./errors";
import { execute } from "./execute";
import { batchResponseHeaders, NEON_REQUEST_HEADERS, parseRequestHeaders } from "./headers";
import { KEEP_ALIVE_TIMEOUT_MS, MAX_REQUEST_BYTES } from "./limits";
import { parsePayload } from "./payload";
import type { Lease } from "./pools";
import { PoolRegistry } from "./pools";
import { ResponseBudget } from "./results";
import { TestHooks } from "./test-hooks";

export interface NeonEndpoint {
  port: number;
  /** http://127.0.0.1:<port>/sql */
  url: string;
  close(): Promise<void>;
}

export interface NeonEndpointOptions {
  /** 0 picks any free port. */
  port: number;
  pgHost: string;
  pgPort: number;
  /** One line per request (method, path, status, duration) and per internal failure; quiet without it. */
  log?: (line: string) => void;
  /** Fault injection for the resilience suite (test-hooks.ts): never set by `npm run dev`. */
  testHooks?: boolean;
}

interface Context {
  pools: PoolRegistry;
  postgres: { host: string; port: number };
  log: (line: string) => void;
  hooks: TestHooks | undefined;
}

const COMMON_HEADERS = { "Access-Control-Allow-Origin": "*" };

export async function startNeonEndpoint(opts: NeonEndpointOptions): Promise<NeonEndpoint> {
  const log = opts.log ?? (() => undefined);
  const postgres = { host: opts.pgHost, port: opts.pgPort };
  const context: Context = { pools: new PoolRegistry(postgres, log), postgres, log, hooks: opts.testHooks ? new TestHooks() : undefined };
  const server = createServer((req, res) => void route(req, res, context));
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: opts.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}/sql`,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await context.pools.close();
      })()),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, context: Context): Promise<void> {
  const started = performance.now();
  const path = (req.url ?? "").split("?")[0];
  let status: number;
  try {
    if (path === "/sql" && req.method === "POST") {
      status = await handleSql(req, res, context);
    } else if (path === "/sql" && req.method === "OPTIONS") {
      status = sendPreflight(res);
    } else if (context.hooks && path?.startsWith("/__test/")) {
      const answer = await context.hooks.route(req, () => readBody(req, 4096), path);
      status = answer ? send(res, answer.status, answer.body) : send(res, 404, JSON.stringify(plainErrorBody("no such test hook")));
    } else {
      status = send(res, 400, JSON.stringify(plainErrorBody("query is not supported")));
    }
  } catch (error) {
    const answer = errorResponse(error);
    if (answer.status === 500) context.log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
    status = send(res, answer.status, JSON.stringify(answer.body));
  }
  req.resume();
  context.log(`${req.method} ${path} ${status} ${(performance.now() - started).toFixed(1)} ms`);
}

async function handleSql(req: IncomingMessage, res: ServerResponse, context: Context): Promise<number> {
  const options = parseRequestHeaders(req.headers);
  const payload = parsePayload(await readBody(req, MAX_REQUEST_BYTES));
  // A stalled request whose client gave up runs nothing (499, nginx's "client closed request", for the log only).
  if (context.hooks && !(await context.hooks.delay(payload, res))) return 499;
  const lease = await context.pools.acquire(options.target);
  const stopWatching = cancelOnDisconnect(res, lease, context);
  try {
    const json = await execute(lease, payload, options, new ResponseBudget());
    const echoed = payload.kind === "batch" ? batchResponseHeaders(options.batch) : {};
    return send(res, 200, json, echoed);
  } finally {
    stopWatching();
    lease.release();
  }
}

// When the HTTP client goes away mid-request (an aborted fetch), the running statement is cancelled and the
// connection is not reused, as Neon does.
function cancelOnDisconnect(res: ServerResponse, lease: Lease, context: Context): () => void {
  const onClose = (): void => {
    if (res.writableFinished) return;
    lease.broken = true;
    cancelRunningStatement(lease.client, context.postgres);
  };
  res.once("close", onClose);
  return () => res.off("close", onClose);
}

function sendPreflight(res: ServerResponse): number {
  res.writeHead(200, {
    ...COMMON_HEADERS,
    Allow: "OPTIONS, POST",
    "Access-Control-Allow-Methods": "OPTIONS, POST",
    "Access-Control-Allow-Headers": NEON_REQUEST_HEADERS.join(", "),
    "Access-Control-Max-Age": "86400",
    "Content-Length": "0",
  });
  res.end();
  return 200;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): number {
  if (res.headersSent || res.destroyed) return status;
  res.writeHead(status, {
    ...COMMON_HEADERS,
    ...headers,
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(body)),
  });
  res.end(body);
  return status;
}
