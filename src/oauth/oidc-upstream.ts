import * as oauth from "oauth4webapi";
import { isLoopbackUrl } from "../http/loopback";

/**
 * The upstream OpenID Connect provider (docs/security.md), talked to through oauth4webapi: discovery is cached per
 * isolate (an hour; failures are not cached), and plain http is allowed only for a loopback issuer (dev, tests).
 */
export interface Upstream {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  /** Options for every request to the provider: a timeout and, for a loopback issuer only, plain http. */
  http: UpstreamHttp;
}

const DISCOVERY_TTL_MS = 3600_000;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Settled metadata only, never a pending promise: on Workers a promise whose I/O belongs to one request must not
 * be awaited by another (if the first request ends first, its fetch is cancelled and the promise never settles).
 * Concurrent first requests each discover; the last one to finish is kept.
 */
const discovered = new Map<string, { at: number; as: oauth.AuthorizationServer }>();

export interface UpstreamHttp {
  signal: (url: string) => AbortSignal;
  [oauth.allowInsecureRequests]?: boolean;
}

function httpOptions(insecure: boolean): UpstreamHttp {
  return { signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}) };
}

export class UpstreamConfigError extends Error {}

/** The Worker variables this module reads (a subset of Bindings, as in oidc-config.ts; no Worker types needed). */
export interface UpstreamVars {
  OIDC_ISSUER?: string | undefined;
  OIDC_CLIENT_ID?: string | undefined;
  OIDC_CLIENT_SECRET?: string | undefined;
}

const configured = (env: UpstreamVars): boolean => Boolean(env.OIDC_ISSUER && env.OIDC_CLIENT_ID && env.OIDC_CLIENT_SECRET);

function issuerUrl(env: UpstreamVars): URL {
  if (!configured(env)) throw new UpstreamConfigError("OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must all be set");
  let url: URL;
  try {
    url = new URL(env.OIDC_ISSUER!);
  } catch {
    throw new UpstreamConfigError("OIDC_ISSUER is not a URL");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackUrl(url))) throw new UpstreamConfigError("OIDC_ISSUER must use https unless it is a loopback URL");
  return url;
}

async function discover(issuer: URL, insecure: boolean): Promise<oauth.AuthorizationServer> {
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...httpOptions(insecure) }));
  if (typeof as.authorization_endpoint !== "string" || typeof as.token_endpoint !== "string") throw new UpstreamConfigError("the provider's metadata lacks an authorization or token endpoint");
  const endpoint = new URL(as.authorization_endpoint);
  if (endpoint.protocol !== "https:" && !(insecure && endpoint.protocol === "http:")) throw new UpstreamConfigError("the provider's authorization endpoint is not https");
  return as;
}

/** The provider's metadata and this deployment's client at it. Throws when misconfigured or unreachable. */
export async function upstream(env: UpstreamVars, nowMs = Date.now()): Promise<Upstream> {
  const issuer = issuerUrl(env);
  const insecure = issuer.protocol === "http:"; // issuerUrl() allows http only for loopback
  let entry = discovered.get(issuer.href);
  if (!entry || nowMs - entry.at > DISCOVERY_TTL_MS) {
    entry = { at: nowMs, as: await discover(issuer, insecure) };
    discovered.set(issuer.href, entry);
  }
  // The same `as` object every time, so oauth4webapi's own JWKS cache (keyed by it) is reused too.
  return { as: entry.as, client: { client_id: env.OIDC_CLIENT_ID! }, clientAuth: oauth.ClientSecretBasic(env.OIDC_CLIENT_SECRET!), http: httpOptions(insecure) };
}

/**
 * The provider's authorization endpoint, for the login page's CSP `form-action` (browsers apply it to the
 * redirect that follows the form post). The login page does not wait long for discovery: when it is slow or
 * fails, the issuer stands in (the same origin at nearly every provider). Undefined when no upstream is
 * configured or its configuration is invalid.
 */
export async function upstreamAuthorizationEndpoint(env: UpstreamVars, waitMs = 1500): Promise<string | undefined> {
  if (!configured(env)) return undefined;
  let fallback: string;
  try {
    fallback = issuerUrl(env).href;
  } catch {
    return undefined;
  }
  let giveUp!: (endpoint: string) => void;
  const late = new Promise<string>((resolve) => (giveUp = resolve));
  const timer = setTimeout(() => giveUp(fallback), waitMs);
  const found = upstream(env).then(
    (up) => up.as.authorization_endpoint ?? fallback,
    () => fallback,
  );
  try {
    return await Promise.race([found, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** For tests: forget discovered providers. */
export function clearUpstreamCache(): void {
  discovered.clear();
}
