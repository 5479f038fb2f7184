-- Upstream OpenID Connect sign-ins in flight (src/oauth/oidc-routes.ts): the PKCE verifier and nonce Gatehouse
-- sent to the identity provider, keyed by the `state` it sent, bound to one authorization request (and through
-- it to the browser's gh_authz cookie). Single use: the callback deletes the row it uses. At most 10 minutes.
-- Never an upstream authorization code or token.
CREATE TABLE IF NOT EXISTS oidc_logins (
  state TEXT PRIMARY KEY,
  request_id TEXT NOT NULL,                   -- auth_requests.id
  code_verifier TEXT NOT NULL,                -- PKCE verifier for the upstream code exchange
  nonce TEXT NOT NULL,                        -- expected ID token nonce
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS oidc_logins_by_request ON oidc_logins (request_id);
CREATE INDEX IF NOT EXISTS oidc_logins_by_expiry ON oidc_logins (expires_at);
