import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CIMD_LIMITS } from "../../../src/oauth/cimd";
import { fetchClientDocument } from "../../../src/oauth/cimd-fetch";

/** A real HTTP server on 127.0.0.1 serving one behaviour per path; the adapter fetches it with Node's fetch. */
let server: Server;
let base = "";
const NOW = Date.parse("2026-11-29T12:00:00Z");

function docFor(path: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ client_id: `${base}${path}`, client_name: "Served", redirect_uris: ["http://127.0.0.1:9/cb"], ...extra });
}

const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  "/ok.json": (_q, res) => {
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "max-age=120" });
    res.end(docFor("/ok.json"));
  },
  "/redirect.json": (_q, res) => {
    res.writeHead(302, { Location: `${base}/ok.json` });
    res.end();
  },
  "/missing.json": (_q, res) => {
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end("{}");
  },
  "/html.json": (_q, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(docFor("/html.json"));
  },
  // No Content-Length (chunked): the cap must hold while reading, not only on the declared length.
  "/endless.json": (_q, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    const chunk = " ".repeat(1024);
    let sent = 0;
    const push = () => {
      while (sent < 1024 && res.write(chunk)) sent++;
      if (sent < 1024) res.once("drain", push);
      else res.end();
    };
    push();
  },
  "/declared-large.json": (_q, res) => {
    const body = " ".repeat(CIMD_LIMITS.bodyBytes + 1);
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(body.length) });
    res.end(body);
  },
  "/mismatch.json": (_q, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(docFor("/other.json"));
  },
  // Never answers: the deadline ends the fetch.
  "/hang.json": () => undefined,
};

beforeAll(async () => {
  server = createServer((req, res) => (routes[new URL(req.url ?? "/", "http://x").pathname] ?? routes["/missing.json"]!)(req, res));
  await new Promise<void>((r) => server.listen({ host: "127.0.0.1", port: 0 }, () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const get = (path: string, timeoutMs?: number) => fetchClientDocument(new URL(`${base}${path}`), NOW, timeoutMs !== undefined ? { timeoutMs } : {});

describe("fetchClientDocument (draft §5, §8.7) against a real server", () => {
  it("fetches, validates and reports the freshness the response asked for", async () => {
    const r = await get("/ok.json");
    expect(r).toMatchObject({ ok: true, freshSeconds: 120, doc: { client_id: `${base}/ok.json`, client_name: "Served", redirect_uris: ["http://127.0.0.1:9/cb"] } });
  });

  it("does not follow a redirect, even to a valid document", async () => {
    expect(await get("/redirect.json")).toEqual({ ok: false, reason: "fetch_redirect" });
  });

  it("refuses any status but 200, and a non-JSON media type", async () => {
    expect(await get("/missing.json")).toEqual({ ok: false, reason: "fetch_status_404" });
    expect(await get("/html.json")).toEqual({ ok: false, reason: "fetch_not_json_content_type" });
  });

  it("stops reading past the size cap, declared or not", async () => {
    expect(await get("/endless.json")).toEqual({ ok: false, reason: "doc_too_large" });
    expect(await get("/declared-large.json")).toEqual({ ok: false, reason: "doc_too_large" });
  });

  it("refuses a document naming another client_id", async () => {
    expect(await get("/mismatch.json")).toEqual({ ok: false, reason: "doc_client_id_mismatch" });
  });

  it("gives up at the deadline", async () => {
    expect(await get("/hang.json", 200)).toEqual({ ok: false, reason: "fetch_timeout" });
  });

  it("reports an unreachable host as a fetch failure", async () => {
    expect(await fetchClientDocument(new URL("http://127.0.0.1:9/c.json"), NOW)).toEqual({ ok: false, reason: "fetch_failed" });
  });
});
