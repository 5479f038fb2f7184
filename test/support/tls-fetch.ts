import { request } from "node:https";

/**
 * A fetch for a Worker served by `wrangler dev --local-protocol https` under a non-loopback name (e.g.
 * https://gatehouse.test:PORT): connects to 127.0.0.1, sends the name as Host and SNI, and accepts wrangler's
 * self-signed certificate. Test code only.
 */
export function loopbackTlsFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const target = new URL(url);
  const headers: Record<string, string> = { host: target.host };
  new Headers(init.headers).forEach((v, k) => {
    headers[k] = v;
  });
  const body = typeof init.body === "string" ? init.body : init.body ? String(init.body) : undefined;
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: target.port || 443,
        servername: target.hostname,
        path: `${target.pathname}${target.search}`,
        method: init.method ?? "GET",
        headers,
        rejectUnauthorized: false,
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: h }));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout: ${url}`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
