import { Hono } from "hono";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { utf8Length } from "../tools/utf8";
import { recordOAuthEvent, recordOAuthRefusal } from "./audit";
import { clientIpKey } from "../http/client-ip";
import { DCR_LIMITS, validateRegistration } from "./dcr";
import { OAuthError } from "./oauth-error";
import { newClientId } from "./secrets";
import { insertPublicClient, pruneStaleClients } from "./store-d1";
import { logFailure } from "../lib/background";

export const registerRoutes = new Hono<AppEnv>();

/** Public clients unused for this long are removed (Claude registers a new client on every connection). */
export const STALE_CLIENT_SECONDS = 30 * 24 * 3600;

// POST /register (RFC 7591 §3): open to public clients, 10 registrations per minute per IP.
registerRoutes.post("/", async (c) => {
  const now = nowSeconds();
  try {
    const { success } = await c.env.RL_10.limit({ key: `register:${clientIpKey(c.req.header("cf-connecting-ip"))}` });
    if (!success) throw new OAuthError("slow_down", "Too many registrations; try again in a minute.", "rate_limited");
    const text = await c.req.text();
    if (utf8Length(text) > DCR_LIMITS.bodyBytes) throw new OAuthError("invalid_client_metadata", `Registration metadata is limited to ${DCR_LIMITS.bodyBytes} bytes.`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OAuthError("invalid_client_metadata", "The registration must be JSON.");
    }
    const meta = validateRegistration(body);
    const clientId = newClientId();
    await insertPublicClient(c.env.DB, clientId, meta, now);
    c.executionCtx.waitUntil(pruneStaleClients(c.env.DB, now, STALE_CLIENT_SECONDS).catch(() => 0));
    await recordOAuthEvent(c, { event: "client.registered", outcome: "ok", clientId, ...(meta.client_name ? { detail: meta.client_name.slice(0, 200) } : {}) });
    c.header("Cache-Control", "no-store");
    return c.json({ client_id: clientId, client_id_issued_at: now, ...meta }, 201);
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    await recordOAuthRefusal(c, { event: "client.registered", outcome: e.errorCode === "slow_down" ? "rate_limited" : "denied", rule: e.reason }).catch(logFailure("registration refusal audit"));
    return c.json(e.toJSON(), e.status);
  }
});
