import { isLoopbackUrl } from "./loopback";

/** Configuration derived once from the environment. `PUBLIC_ORIGIN` is the issuer (RFC 8414 §2: no path). */
export interface GatewayConfig {
  issuer: string;
  resource: string;
  origin: URL;
  loopback: boolean;
  devEndpoints: boolean;
  neonLocalEndpoint: string | undefined;
}

export class ConfigError extends Error {
  readonly code = "ERR_CONFIG";
}

export function readConfig(env: { PUBLIC_ORIGIN: string; DEV_ENDPOINTS?: string; NEON_LOCAL_ENDPOINT?: string }): GatewayConfig {
  let origin: URL;
  try {
    origin = new URL(env.PUBLIC_ORIGIN);
  } catch {
    throw new ConfigError("PUBLIC_ORIGIN is not a URL");
  }
  if (origin.pathname !== "/" || origin.search || origin.hash) throw new ConfigError("PUBLIC_ORIGIN must be an origin without a path");
  const loopback = isLoopbackUrl(origin);
  if (!loopback && origin.protocol !== "https:") throw new ConfigError("PUBLIC_ORIGIN must use https unless it is a loopback URL");
  const issuer = origin.origin;
  return {
    issuer,
    resource: `${issuer}/mcp`,
    origin,
    loopback,
    // Dev-only switches are inert on any non-loopback deployment, whatever the variables say.
    devEndpoints: loopback && env.DEV_ENDPOINTS === "true",
    neonLocalEndpoint: loopback && env.NEON_LOCAL_ENDPOINT ? env.NEON_LOCAL_ENDPOINT : undefined,
  };
}

const cache = new Map<string, GatewayConfig>();

/** Per-isolate memo: env values do not change within an isolate. */
export function configFor(env: { PUBLIC_ORIGIN: string; DEV_ENDPOINTS?: string; NEON_LOCAL_ENDPOINT?: string }): GatewayConfig {
  const key = `${env.PUBLIC_ORIGIN}\n${env.DEV_ENDPOINTS ?? ""}\n${env.NEON_LOCAL_ENDPOINT ?? ""}`;
  let config = cache.get(key);
  if (!config) {
    config = readConfig(env);
    cache.set(key, config);
  }
  return config;
}
