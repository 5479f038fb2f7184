import { Hono } from "hono";
import { anchorJwks } from "./audit/anchor-r2";
import type { AppEnv } from "./env";
import { configFor } from "./http/config";
import { hostOriginGuard } from "./http/host-origin";
import { onError } from "./http/errors";
import { randomId } from "./lib/sha256";
import { authorizationServerMetadata, protectedResourceMetadata } from "./oauth/metadata";
import { jwks, loadKeyRing } from "./oauth/keys";
import { registerRoutes } from "./oauth/register-routes";
import { authorizeRoutes } from "./oauth/authorize-routes";
import { oidcRoutes } from "./oauth/oidc-routes";
import { tokenRoutes } from "./oauth/token-routes";
import { revokeRoutes } from "./oauth/revoke-routes";
import { adminRoutes } from "./admin/routes";
import { bootstrapRoutes } from "./admin/bootstrap-routes";
import { approvalRoutes } from "./approvals/routes";
import { verifyBearer } from "./mcp/authenticate";
import { handleMcp, methodNotAllowed } from "./mcp/route";
import { devRoutes } from "./dev/routes";
import { consoleRoutes } from "./console/routes";

/** The composition root: middleware and routes, top to bottom. */
export const app = new Hono<AppEnv>();

app.use("*", async (c, next) => {
  c.set("requestId", c.req.header("cf-ray") ?? randomId(8));
  await next();
  c.header("X-Content-Type-Options", "nosniff");
  // HTML pages set their own policy (src/http/page-headers.ts); everything else leaks no referrer.
  if (!c.res.headers.has("Referrer-Policy")) c.header("Referrer-Policy", "no-referrer");
});
app.use("*", hostOriginGuard);
app.onError(onError);
app.notFound((c) => c.json({ error: "not_found" }, 404));

// RFC 9728 protected-resource metadata, at the root and at the path-suffixed location for the /mcp resource.
app.get("/.well-known/oauth-protected-resource", (c) => c.json(protectedResourceMetadata(configFor(c.env))));
app.get("/.well-known/oauth-protected-resource/mcp", (c) => c.json(protectedResourceMetadata(configFor(c.env))));
// RFC 8414 authorization-server metadata and the signing keys (current and, during rotation, previous).
app.get("/.well-known/oauth-authorization-server", (c) => c.json(authorizationServerMetadata(configFor(c.env))));
app.get("/.well-known/jwks.json", async (c) => {
  c.header("Cache-Control", "public, max-age=300");
  return c.json(jwks(await loadKeyRing(c.env.SIGNING_KEY, c.env.SIGNING_KEY_PREVIOUS)));
});

// The public key that verifies signed audit chain heads (docs/audit.md "Anchoring"); 404 when none is configured.
app.get("/.well-known/gatehouse-audit-anchor.json", async (c) => {
  const keys = await anchorJwks(c.env.AUDIT_ANCHOR_KEY);
  if (!keys) return c.json({ error: "not_found" }, 404);
  c.header("Cache-Control", "public, max-age=300");
  return c.json(keys);
});

// OAuth 2.1 authorization server (docs/security.md).
app.route("/register", registerRoutes);
app.route("/authorize/oidc", oidcRoutes);
app.route("/authorize", authorizeRoutes);
app.route("/token", tokenRoutes);
app.route("/revoke", revokeRoutes);

app.on(["GET", "DELETE", "PUT", "PATCH"], "/mcp", () => methodNotAllowed());
app.post("/mcp", verifyBearer, handleMcp);

// Approvers first: their routes need the approve scope, not the admin scope of the rest of /admin/api. The
// first-run bootstrap authenticates with its own one-time secret, before any admin exists.
app.route("/admin/api/approvals", approvalRoutes);
app.route("/admin/api/bootstrap", bootstrapRoutes);
app.route("/admin/api", adminRoutes);
app.route("/dev", devRoutes);
// The web console for approvers and admins (src/console/): its own sign-in through /authorize, forms only.
app.route("/console", consoleRoutes);

app.get("/", (c) => c.json({ name: "gatehouse", mcp: configFor(c.env).resource }));
