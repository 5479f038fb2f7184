import { OAuthError } from "./oauth-error";
import { checkRedirectUri } from "./redirect-uri";

/** Limits on registration metadata (RFC 7591 leaves them to the server). */
export const DCR_LIMITS = { bodyBytes: 8192, redirectUris: 10, nameLength: 200, uriLength: 2000 } as const;

export interface RegisteredMetadata {
  client_name?: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: "none";
  scope?: string;
  client_uri?: string;
  logo_uri?: string;
}

const ALLOWED_GRANTS = new Set(["authorization_code", "refresh_token"]);

/**
 * Validates a dynamic client registration (RFC 7591 §2) for a public client. Only public clients register
 * themselves; task clients with secrets are created by an admin. Missing `scope` is fine (ChatGPT registers
 * without one).
 */
export function validateRegistration(body: unknown): RegisteredMetadata {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new OAuthError("invalid_client_metadata", "The registration must be a JSON object.");
  const m = body as Record<string, unknown>;
  const uris = m.redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0) throw new OAuthError("invalid_redirect_uri", "redirect_uris must list at least one URI.");
  if (uris.length > DCR_LIMITS.redirectUris) throw new OAuthError("invalid_client_metadata", `At most ${DCR_LIMITS.redirectUris} redirect URIs.`);
  const redirect_uris: string[] = [];
  for (const u of uris) {
    const checked = checkRedirectUri(u);
    if (!checked.ok)
      throw new OAuthError(
        "invalid_redirect_uri",
        "Redirect URIs must be https, http on a loopback address, or a native app's reverse-domain scheme (or a known app scheme such as cursor://), in canonical form, without fragments or wildcards.",
        `redirect_uri: ${checked.reason}`,
      );
    redirect_uris.push(checked.uri);
  }
  const method = m.token_endpoint_auth_method ?? "none";
  if (method !== "none") throw new OAuthError("invalid_client_metadata", 'Only public clients may register (token_endpoint_auth_method "none").');
  const grants = m.grant_types ?? ["authorization_code", "refresh_token"];
  if (!Array.isArray(grants) || grants.length === 0 || !grants.every((g) => typeof g === "string" && ALLOWED_GRANTS.has(g))) {
    throw new OAuthError("invalid_client_metadata", "grant_types may contain authorization_code and refresh_token only.");
  }
  const responses = m.response_types ?? ["code"];
  if (!Array.isArray(responses) || responses.length !== 1 || responses[0] !== "code") throw new OAuthError("invalid_client_metadata", 'response_types must be ["code"].');
  const out: RegisteredMetadata = { redirect_uris, grant_types: grants as string[], response_types: ["code"], token_endpoint_auth_method: "none" };
  const text = (key: "client_name" | "scope", max: number) => {
    const v = m[key];
    if (v === undefined) return;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: metadata with control characters is refused
    if (typeof v !== "string" || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) throw new OAuthError("invalid_client_metadata", `${key} must be a short string.`);
    out[key] = v;
  };
  text("client_name", DCR_LIMITS.nameLength);
  text("scope", 200);
  for (const key of ["client_uri", "logo_uri"] as const) {
    const v = m[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length > DCR_LIMITS.uriLength || !/^https:\/\//.test(v)) throw new OAuthError("invalid_client_metadata", `${key} must be an https URL.`);
    out[key] = v;
  }
  return out;
}
