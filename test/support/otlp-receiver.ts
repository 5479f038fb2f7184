import { createServer } from "node:http";

export interface OtlpRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/**
 * A loopback OTLP/HTTP receiver (JSON encoding) that records every POST with its path and headers;
 * GET /received returns them. Answers 200 with an empty partial-success body, as a collector does.
 */
export async function startOtlpReceiver(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const received: OtlpRequest[] = [];
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/received") {
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(received));
      return;
    }
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = { unparsable: body.slice(0, 200) };
      }
      received.push({ path: req.url ?? "", headers: req.headers, body: parsed });
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
