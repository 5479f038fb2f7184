import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { configFor, type GatewayConfig } from "./config";

/** Host values this deployment answers to; loopback deployments also answer to the other loopback names. */
export function allowedHosts(config: GatewayConfig): Set<string> {
  const hosts = new Set([config.origin.host]);
  if (config.loopback) {
    const port = config.origin.port ? `:${config.origin.port}` : "";
    for (const h of ["localhost", "127.0.0.1", "[::1]"]) hosts.add(`${h}${port}`);
  }
  return hosts;
}

/**
 * DNS-rebinding and cross-site protection for the MCP endpoint (MCP 2025-06-18 Transports, "Security Warning"):
 * the Host must be ours, and an Origin, when a browser sends one, must be ours too. No Origin is fine
 * (non-browser clients send none).
 */
export const hostOriginGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  const config = configFor(c.env);
  const hosts = allowedHosts(config);
  // On Workers the request URL carries the Host the client sent.
  const host = new URL(c.req.url).host;
  if (!hosts.has(host.toLowerCase())) return c.json({ error: "invalid_host", error_description: "Unknown Host header" }, 403);
  const origin = c.req.header("origin");
  if (origin !== undefined) {
    let ok = false;
    try {
      const u = new URL(origin);
      ok = u.origin === config.issuer || (config.loopback && hosts.has(u.host) && u.protocol === config.origin.protocol);
    } catch {
      ok = false;
    }
    if (!ok) return c.json({ error: "invalid_origin", error_description: "Cross-origin requests are not allowed" }, 403);
  }
  await next();
};
