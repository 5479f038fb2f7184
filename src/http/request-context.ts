import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { RequestContext } from "../audit/event";

/** Audit context of the current request, from Cloudflare's headers and `request.cf`. */
export function requestContext(c: Context<AppEnv>): RequestContext {
  const cf = (c.req.raw as { cf?: { colo?: unknown } }).cf;
  const ctx: RequestContext = { requestId: c.get("requestId") };
  const ua = c.req.header("user-agent");
  const ip = c.req.header("cf-connecting-ip");
  if (ua) ctx.userAgent = ua;
  if (ip) ctx.ip = ip;
  if (typeof cf?.colo === "string") ctx.colo = cf.colo;
  return ctx;
}
