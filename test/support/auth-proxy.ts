import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";

/**
 * A test-only authenticating proxy for suites that send no token (the MCP conformance suite): it adds
 * `Authorization: Bearer <token>` and forwards to the Worker. Host and Origin naming the proxy itself are
 * rewritten to the Worker's; any other Host or Origin is forwarded as sent, so Gatehouse's own DNS-rebinding and
 * Origin checks answer the suite's hostile requests.
 */
export interface AuthProxy {
  url: string;
  close(): Promise<void>;
}

export async function startAuthProxy(target: string, token: () => Promise<string> | string): Promise<AuthProxy> {
  const upstream = new URL(target);
  let self = "";
  const server: Server = createServer((req, res) => {
    void (async () => {
      const headers: IncomingHttpHeaders = { ...req.headers };
      const selfHost = new URL(self).host;
      const selfHosts = new Set([selfHost, selfHost.replace("127.0.0.1", "localhost")]);
      if (!headers.host || selfHosts.has(headers.host)) headers.host = upstream.host;
      if (typeof headers.origin === "string") {
        try {
          if (selfHosts.has(new URL(headers.origin).host)) headers.origin = upstream.origin;
        } catch {
          /* forwarded as sent */
        }
      }
      headers.authorization = `Bearer ${await token()}`;
      const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      forward.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(forward);
    })();
  });
  await new Promise<void>((r) => server.listen({ host: "127.0.0.1", port: 0 }, () => r()));
  self = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: self,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
