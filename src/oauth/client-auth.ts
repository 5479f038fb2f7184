import type { ClientRow } from "./store-d1";
import { getClient } from "./store-d1";
import { hashSecret, sameDigest } from "./secrets";
import { OAuthError } from "./oauth-error";
import { CIMD_LIMITS, looksLikeDocumentUrl } from "./cimd";

export interface PresentedClient {
  clientId: string;
  secret: string | undefined;
  method: "none" | "client_secret_basic" | "client_secret_post";
}

/**
 * Reads client authentication (RFC 6749 §2.3.1): HTTP Basic with form-encoded id and secret, or the same in the
 * body, or a bare client_id for public clients. Using two methods at once is an error.
 */
export function presentedClient(authorization: string | undefined, form: URLSearchParams): PresentedClient {
  const bodyId = form.get("client_id");
  const bodySecret = form.get("client_secret");
  if (authorization?.startsWith("Basic ")) {
    if (bodySecret !== null) throw new OAuthError("invalid_request", "Use one client authentication method.");
    let decoded: string;
    try {
      decoded = atob(authorization.slice(6).trim());
    } catch {
      throw new OAuthError("invalid_client", "Client authentication failed.", "basic_not_base64");
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new OAuthError("invalid_client", "Client authentication failed.", "basic_no_colon");
    let id: string;
    let secret: string;
    try {
      id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " "));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " "));
    } catch {
      throw new OAuthError("invalid_client", "Client authentication failed.", "basic_bad_encoding");
    }
    if (bodyId !== null && bodyId !== id) throw new OAuthError("invalid_request", "client_id does not match the authenticated client.");
    return { clientId: id, secret, method: "client_secret_basic" };
  }
  if (!bodyId) throw new OAuthError("invalid_client", "Client authentication failed.", "no_client_id");
  if (bodySecret !== null) return { clientId: bodyId, secret: bodySecret, method: "client_secret_post" };
  return { clientId: bodyId, secret: undefined, method: "none" };
}

/**
 * Authenticates the client of a /token or /revoke request: a public client by its id alone (sending a secret is an
 * error), a task client by its secret, compared by hash.
 */
export async function authenticateClient(db: D1Database, authorization: string | undefined, form: URLSearchParams): Promise<ClientRow> {
  const presented = presentedClient(authorization, form);
  // Registered ids are short; a metadata-document client's id is its URL (oauth/cimd.ts), stored when /authorize
  // fetched it, and authenticates like any public client.
  const maxLength = looksLikeDocumentUrl(presented.clientId) ? CIMD_LIMITS.urlLength : 100;
  if (presented.clientId.length > maxLength) throw new OAuthError("invalid_client", "Client authentication failed.", "client_id_too_long");
  const client = await getClient(db, presented.clientId);
  if (!client) throw new OAuthError("invalid_client", "Client authentication failed.", "unknown_client");
  if (client.kind === "public") {
    if (presented.method !== "none") throw new OAuthError("invalid_client", "Client authentication failed.", "public_client_sent_secret");
    return client;
  }
  if (presented.secret === undefined || !client.secret_hash || !sameDigest(await hashSecret(presented.secret), client.secret_hash)) {
    throw new OAuthError("invalid_client", "Client authentication failed.", "bad_secret");
  }
  return client;
}
