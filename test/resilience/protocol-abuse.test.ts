import { connect } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { callTool, completedAuditRows, stack, statementsByRole, pgQuery, userToken } from "./support";

// Malformed requests to /mcp in both protocol eras. Each has one documented answer (docs/reliability.md,
// "Protocol abuse"): an HTTP status and, where the body is JSON-RPC, its error code. None may be a 5xx, none may
// run a statement.
const LEGACY = "2025-11-25";
const MODERN = "2026-07-28";
const ENVELOPE = { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientInfo": { name: "abuse", version: "1" }, "io.modelcontextprotocol/clientCapabilities": {} };

type Era = "legacy" | "modern";
interface Answer {
  status: number;
  /** The JSON-RPC error code, when the body is a JSON-RPC error. */
  code?: number;
  /** A tools/call result: the tool ran ("ok") or was refused with a tool error ("error"). */
  tool?: "ok" | "error";
  /** The answer is miniflare's connection-lost 500, not Gatehouse's (MINIFLARE_CONNECTION_LOST). */
  miniflare?: boolean;
}

/**
 * miniflare's own answer (its entry worker in front of the Worker under `wrangler dev`) when the inbound body ends
 * before its Content-Length: a text/plain 500 "Network connection lost" that Gatehouse never sees. On Cloudflare the
 * edge deals with such a request; locally it is the one 5xx, and this marker keeps it from hiding another.
 */
const MINIFLARE_CONNECTION_LOST =
  /^HTTP\/1\.1 500 [^\r]*\r\n(?:[^\r]+\r\n)*Content-Type: text\/plain[^\r]*\r\n(?:[^\r]+\r\n)*\r\nError: Network connection lost\.\n\s+at async Object\.fetch \([^)]*miniflare[^)]*entry\.worker\.js/;
interface Case {
  name: string;
  era: Era;
  expected: Answer;
  send: () => Promise<Answer>;
}

let token = "";
let jti = "";

function headers(era: Era, method = "tools/call", name: string | undefined = "numbered"): Record<string, string> {
  const base = { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
  return era === "legacy" ? { ...base, "MCP-Protocol-Version": LEGACY } : { ...base, "MCP-Protocol-Version": MODERN, "Mcp-Method": method, ...(name !== undefined ? { "Mcp-Name": name } : {}) };
}

/** A well-formed tools/call of `numbered` in the era's shape, as an object to break. */
function message(era: Era, over: Record<string, unknown> = {}): Record<string, unknown> {
  const params = { name: "numbered", arguments: { upto: 1 }, ...(era === "modern" ? { _meta: ENVELOPE } : {}) };
  return { jsonrpc: "2.0", id: 1, method: "tools/call", params, ...over };
}

async function answer(res: Response): Promise<Answer> {
  const body = await res.text();
  let code: number | undefined;
  let tool: Answer["tool"];
  try {
    const json = JSON.parse(body) as { error?: { code?: unknown }; result?: { isError?: boolean; content?: unknown } };
    if (typeof json.error?.code === "number") code = json.error.code;
    if (json.result?.content !== undefined) tool = json.result.isError ? "error" : "ok";
  } catch {
    // not JSON
  }
  return { status: res.status, ...(code !== undefined ? { code } : {}), ...(tool ? { tool } : {}) };
}

function post(body: string | Buffer, h: Record<string, string>): Promise<Answer> {
  return fetch(stack.mcpUrl, { method: "POST", headers: h, body: typeof body === "string" ? body : new Blob([new Uint8Array(body)]) }).then(answer);
}

/** A raw HTTP/1.1 exchange on a fresh socket: `head` and `body` are written as given; `end` half-closes after. */
/** status 0: no answer before `waitMs`. */
function raw(head: string, body: Buffer, opts: { end: boolean; waitMs: number }): Promise<Answer> {
  const url = new URL(stack.mcpUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let data = "";
    const done = () => {
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      const json = data.slice(data.indexOf("\r\n\r\n") + 4);
      const code = /"code":(-?\d+)/.exec(json)?.[1];
      resolve({ status: m ? Number(m[1]) : 0, ...(code ? { code: Number(code) } : {}), ...(MINIFLARE_CONNECTION_LOST.test(data) ? { miniflare: true } : {}) });
    };
    const timer = setTimeout(done, opts.waitMs);
    socket.on("data", (d) => {
      data += d.toString("latin1");
      if (/\r\n\r\n/.test(data)) {
        const length = /content-length: (\d+)/i.exec(data)?.[1];
        const got = data.length - data.indexOf("\r\n\r\n") - 4;
        if (length !== undefined && got >= Number(length)) {
          clearTimeout(timer);
          done();
        }
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      done();
    });
    socket.write(head);
    socket.write(body);
    if (opts.end) socket.end();
  });
}

function rawHead(h: Record<string, string>, length: number): string {
  const url = new URL(stack.mcpUrl);
  return [`POST ${url.pathname} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(h).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${length}`, "Connection: close", "", ""].join("\r\n");
}

function cases(era: Era): Case[] {
  const h = headers(era);
  const ok = JSON.stringify(message(era));
  const c = (name: string, expected: Answer, send: () => Promise<Answer>): Case => ({ name, era, expected, send });
  const deep = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
  const list = era === "modern" ? headers(era, "tools/list", undefined) : h;
  return [
    // Content negotiation (MCP Streamable HTTP: POST carries JSON, accepts JSON and SSE).
    c("Content-Type text/plain", { status: 415, code: -32000 }, () => post(ok, { ...h, "Content-Type": "text/plain" })),
    c("no Content-Type", { status: 415, code: -32000 }, () => fetch(stack.mcpUrl, { method: "POST", headers: { ...h, "Content-Type": "" }, body: new Blob([ok]) }).then(answer)),
    c("Content-Type application/x-www-form-urlencoded", { status: 415, code: -32000 }, () => post(ok, { ...h, "Content-Type": "application/x-www-form-urlencoded" })),
    // The 2026-07-28 handler answers JSON whatever Accept says (RFC 9110 §12.5.1 lets a server disregard it): the
    // call runs. The 2025-era transport insists on both media types.
    c("no Accept", era === "legacy" ? { status: 406, code: -32000 } : { status: 200, tool: "ok" }, () => post(ok, { ...h, Accept: "" })),
    c("Accept text/html", era === "legacy" ? { status: 406, code: -32000 } : { status: 200, tool: "ok" }, () => post(ok, { ...h, Accept: "text/html" })),
    c("Accept text/event-stream only", era === "legacy" ? { status: 406, code: -32000 } : { status: 200, tool: "ok" }, () => post(ok, { ...h, Accept: "text/event-stream" })),
    // Bytes and JSON syntax.
    c("invalid UTF-8 outside a string", { status: 400, code: -32700 }, () => post(Buffer.concat([Buffer.from(ok.slice(0, -1)), Buffer.from([0xff, 0xfe]), Buffer.from("}")]), h)),
    // Decoded with U+FFFD in place of the bad bytes (WHATWG Encoding): a tool name that exists nowhere; in the
    // modern era it also disagrees with the Mcp-Name header.
    c("invalid UTF-8 inside the tool name", era === "legacy" ? { status: 200, code: -32602 } : { status: 400, code: -32020 }, () => {
      const [before, after] = ok.split('"numbered"') as [string, string];
      return post(Buffer.concat([Buffer.from(`${before}"numbered`), Buffer.from([0xc3, 0x28]), Buffer.from(`"${after}`)]), h);
    }),
    c("truncated JSON", { status: 400, code: -32700 }, () => post(ok.slice(0, 20), h)),
    c("empty body", { status: 400, code: -32700 }, () => post("", h)),
    c("JSON null", { status: 400, code: -32600 }, () => post("null", h)),
    c("a JSON string", { status: 400, code: -32600 }, () => post('"tools/call"', h)),
    c("10,000-level nested arguments", { status: 200, tool: "error" }, () => post(ok.replace('{"upto":1}', deep(10_000)), h)),
    c("10,000-level nested array body", { status: 400, code: -32600 }, () => post(`${"[".repeat(10_000)}${"]".repeat(10_000)}`, h)),
    c("a batch (array of two calls)", { status: 400, code: -32600 }, () => post(`[${ok},${ok}]`, h)),
    c("duplicate key: jsonrpc 2.0 then 1.0", { status: 400, code: -32600 }, () => post(ok.replace('"jsonrpc":"2.0"', '"jsonrpc":"2.0","jsonrpc":"1.0"'), h)),
    c("duplicate key: name numbered then unknown", { status: 200, code: -32602 }, () =>
      post(ok.replace('"name":"numbered"', '"name":"numbered","name":"nope"'), { ...h, ...(era === "modern" ? { "Mcp-Name": "nope" } : {}) }),
    ),
    // Ids.
    c("id 1e400 (not finite)", { status: 400, code: -32600 }, () => post(ok.replace('"id":1', '"id":1e400'), h)),
    c("id a 30-digit integer (not a safe integer)", { status: 400, code: -32600 }, () => post(ok.replace('"id":1', '"id":123456789012345678901234567890'), h)),
    c("id a 100,000-character string", { status: 200, tool: "ok" }, () => post(JSON.stringify(message(era, { id: "x".repeat(100_000) })), h)),
    c("id an object", { status: 400, code: -32600 }, () => post(JSON.stringify(message(era, { id: { a: 1 } })), h)),
    c("id: null", { status: 400, code: -32600 }, () => post(JSON.stringify(message(era, { id: null })), h)),
    // Shapes of the message.
    c("tools/call sent as a notification (no id)", { status: 202 }, () => post(JSON.stringify({ ...message(era), id: undefined }), h)),
    c("unknown method", era === "legacy" ? { status: 200, code: -32601 } : { status: 404, code: -32601 }, () =>
      post(JSON.stringify(message(era, { method: "tools/explode" })), era === "modern" ? headers(era, "tools/explode", undefined) : h),
    ),
    c("method not a string", { status: 400, code: -32600 }, () => post(JSON.stringify(message(era, { method: 42 })), h)),
    c("params an array", { status: 400, code: -32600 }, () => post(JSON.stringify(message(era, { params: [1, 2] })), h)),
    c("tools/call without a name", { status: 200, code: -32602 }, () =>
      post(JSON.stringify(message(era, { params: { arguments: {}, ...(era === "modern" ? { _meta: ENVELOPE } : {}) } })), era === "modern" ? headers(era, "tools/call", undefined) : h),
    ),
    c("arguments a string", { status: 200, code: -32602 }, () =>
      post(JSON.stringify(message(era, { params: { name: "numbered", arguments: "upto=1", ...(era === "modern" ? { _meta: ENVELOPE } : {}) } })), h),
    ),
    c("tools/list with a 100,000-character cursor", { status: 200 }, () =>
      post(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: { cursor: "c".repeat(100_000), ...(era === "modern" ? { _meta: ENVELOPE } : {}) } }), list),
    ),
    // Sizes (the cap is 1 MiB: src/mcp/route.ts).
    c("a 1 MiB + 1 byte body", { status: 413, code: -32600 }, () => post(JSON.stringify(message(era, { id: "x".repeat(1024 * 1024 + 1 - JSON.stringify(message(era, { id: "" })).length) })), h)),
    c("a 1 MiB + 1 byte body, chunked (no Content-Length)", { status: 413, code: -32600 }, () => {
      const body = JSON.stringify(message(era, { id: "x".repeat(1024 * 1024 + 1 - JSON.stringify(message(era, { id: "" })).length) }));
      const stream = new ReadableStream({
        start(ctl) {
          ctl.enqueue(new TextEncoder().encode(body));
          ctl.close();
        },
      });
      return fetch(stack.mcpUrl, { method: "POST", headers: h, body: stream, duplex: "half" } as RequestInit).then(answer);
    }),
    // Raw sockets: a body shorter than its Content-Length, half-closed.
    c("body 50 bytes shorter than Content-Length, client waits 2 s, then leaves", { status: 0 }, () => raw(rawHead(h, ok.length + 50), Buffer.from(ok), { end: false, waitMs: 2_000 })),
    c("body 50 bytes shorter than Content-Length, then half-close", { status: 500, miniflare: true }, () => raw(rawHead(h, ok.length + 50), Buffer.from(ok), { end: true, waitMs: 10_000 })),
  ];
}

beforeAll(async () => {
  ({ token, jti } = await userToken("abuser@example.com"));
  await pgQuery("SELECT pg_stat_statements_reset()");
});

describe("protocol abuse on /mcp", () => {
  it("answers every malformed request with its documented 4xx or JSON-RPC error, never a 5xx, and runs nothing", async () => {
    const all = [...cases("legacy"), ...cases("modern")];
    expect(all.length).toBeGreaterThanOrEqual(60);
    const got: Array<{ c: Case; a: Answer }> = [];
    for (const c of all) got.push({ c, a: await c.send() });
    if (process.env.RESILIENCE_PRINT === "1") for (const { c, a } of got) console.log(`| ${c.era} | ${c.name} | ${a.status} | ${a.code ?? a.tool ?? ""} |`);
    const wrong = got
      .filter(({ c, a }) => a.status !== c.expected.status || a.code !== c.expected.code || a.tool !== c.expected.tool || a.miniflare !== c.expected.miniflare)
      .map(({ c, a }) => `${c.era}: ${c.name}: expected ${JSON.stringify(c.expected)}, got ${JSON.stringify(a)}`);
    expect(wrong).toEqual([]);
    expect(got.filter(({ a }) => a.status >= 500 && !a.miniflare)).toEqual([]);
    // The only calls that ran are the ones that were well-formed after all (a huge but valid id, a modern request
    // with an odd Accept): one `numbered` each; nothing else reached Postgres.
    const ran = got.filter(({ a }) => a.tool === "ok").length;
    const rows = await completedAuditRows(jti, ran);
    expect(rows.filter((r) => r.outcome === "ok").map((r) => r.tool)).toEqual(Array(ran).fill("numbered"));
    expect(rows.filter((r) => r.outcome === "started")).toEqual([]);
    const statements = await statementsByRole();
    expect(Object.keys(statements).filter((r) => r !== "gatehouse_reporting")).toEqual([]);
  });

  it("keeps serving while a client stalls mid-body, and the stalled request runs nothing", async () => {
    const h = headers("legacy");
    const body = JSON.stringify(message("legacy", { params: { name: "numbered", arguments: { upto: 7 } } }));
    const before = (await completedAuditRows(jti, 0)).length;
    const stalled = raw(rawHead(h, body.length), Buffer.from(body.slice(0, 40)), { end: false, waitMs: 5_000 });
    const meanwhile = await callTool(token, "numbered", { upto: 2 });
    expect(meanwhile.result?.structuredContent?.row_count).toBe(2);
    const s = await stalled;
    // No answer while the body is incomplete (the request cannot be parsed), and the client's giving up runs nothing.
    expect(s.status).toBe(0);
    const after = await callTool(token, "numbered", { upto: 3 });
    expect(after.result?.structuredContent?.row_count).toBe(3);
    // Exactly the two complete calls were audited; the stalled one never became a call.
    const rows = await completedAuditRows(jti, before + 2);
    expect(rows.length).toBe(before + 2);
  });
});
