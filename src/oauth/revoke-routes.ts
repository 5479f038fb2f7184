import { Hono } from "hono";
import type { AppEnv } from "../env";
import { configFor } from "../http/config";
import { nowSeconds } from "../lib/clock";
import { oauthAuditStatement } from "./audit";
import { authenticateClient } from "./client-auth";
import { verifyAccessToken } from "./access-token";
import { loadKeyRing } from "./keys";
import { OAuthError } from "./oauth-error";
import { hashSecret } from "./secrets";
import { getRefresh, getSession, revocationStatements, revokeSessionStatements } from "./store-d1";
import { endDatabaseLogins } from "./database-logins";

export const revokeRoutes = new Hono<AppEnv>();

// POST /revoke (RFC 7009): a refresh token ends its session; an access token is refused from then on.
// The answer is 200 whether or not the token was known (§2.2), so it reveals nothing.
revokeRoutes.post("/", async (c) => {
  const now = nowSeconds();
  c.header("Cache-Control", "no-store");
  try {
    const form = new URLSearchParams(await c.req.text());
    const client = await authenticateClient(c.env.DB, c.req.header("authorization"), form);
    const token = form.get("token");
    if (!token) throw new OAuthError("invalid_request", "token is required.");
    if (token.length <= 200) {
      const row = await getRefresh(c.env.DB, await hashSecret(token));
      const session = row ? await getSession(c.env.DB, row.session_id) : null;
      if (session && session.client_id === client.client_id) {
        // The revocation and its audit row commit together (one D1 batch).
        await c.env.DB.batch([
          ...revokeSessionStatements(c.env.DB, session.id, "revoked_by_client", client.client_id, now),
          oauthAuditStatement(c, {
            event: "token.revoked",
            outcome: "ok",
            rule: "refresh_token",
            principal: session.principal_id,
            clientId: client.client_id,
            sessionId: session.id,
            workspace: session.workspace_id,
          }),
        ]);
        await endDatabaseLogins(c, { kind: "session", value: session.id, workspace: session.workspace_id }, { clientId: client.client_id });
        return c.body(null, 200);
      }
    }
    const config = configFor(c.env);
    const ring = await loadKeyRing(c.env.SIGNING_KEY, c.env.SIGNING_KEY_PREVIOUS);
    // An expired token needs no revocation; a valid one is revoked by its jti.
    const verified = await verifyAccessToken(token, ring, { issuer: config.issuer, audience: config.resource, now });
    if (verified.ok && verified.claims.client_id === client.client_id) {
      await c.env.DB.batch([
        ...revocationStatements(c.env.DB, { kind: "token", value: verified.claims.jti, workspace: verified.claims.ws, reason: "revoked_by_client", by: client.client_id, now }),
        oauthAuditStatement(c, {
          event: "token.revoked",
          outcome: "ok",
          rule: "access_token",
          principal: verified.claims.sub,
          clientId: client.client_id,
          tokenJti: verified.claims.jti,
          workspace: verified.claims.ws,
        }),
      ]);
      await endDatabaseLogins(c, { kind: "token", value: verified.claims.jti, workspace: verified.claims.ws }, { clientId: client.client_id });
    }
    return c.body(null, 200);
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    return c.json(e.toJSON(), e.status);
  }
});
