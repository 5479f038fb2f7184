import { Agent, request } from "node:http";

/**
 * A keep-alive HTTP/1.1 client with as little per-call work as Node allows (no fetch/streams layer, no logging), so
 * the bench's own CPU stays out of what it measures. One agent per target; sockets are reused across calls.
 */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class Client {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly host: string;
  private readonly port: number;

  constructor(origin: string) {
    const u = new URL(origin);
    this.host = u.hostname;
    this.port = Number(u.port);
  }

  post(path: string, headers: Record<string, string>, body: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request({ host: this.host, port: this.port, path, method: "POST", agent: this.agent, headers: { ...headers, "Content-Length": Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.on("error", reject);
      // A call that never answers fails the run instead of hanging it.
      req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${path} within 30 s`)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
