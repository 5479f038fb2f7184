import { createServer } from "node:http";

/** A loopback HTTP endpoint that records the JSON bodies POSTed to it; GET /received returns them. */
export async function startWebhookReceiver(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const received: unknown[] = [];
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/received") {
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(received));
      return;
    }
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      try {
        received.push(JSON.parse(body));
      } catch {
        received.push({ unparsable: body.slice(0, 200) });
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
