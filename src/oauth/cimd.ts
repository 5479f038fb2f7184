import { checkRedirectUri } from "./redirect-uri";
import { DCR_LIMITS } from "./dcr";

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-03; MCP authorization, "Client ID
 * Metadata Documents", 2025-11-25 and 2026-07-28): a client's `client_id` is an https URL, and the JSON document
 * served there is its registration. This file is the pure core: which URLs may be fetched, what a fetched
 * document must say, and how long it is kept. src/oauth/cimd-fetch.ts does the fetching.
 */

/**
 * - urlLength: the URL is the client id, stored with every code and session and carried in every access token.
 * - bodyBytes: the draft's §8.7 suggests 5 KiB as a response-size cap; a document is a few hundred bytes.
 * - timeoutMs: the whole fetch, headers and body; the user is waiting on /authorize meanwhile.
 * - cache bounds (§5.2: HTTP caching, with the server's own limits): at least a minute, so one document host is
 *   not fetched on every sign-in even when it says no-store; at most a day, so a withdrawn redirect URI stops
 *   working within a day whatever the document's headers said; ten minutes when it says nothing.
 */
export const CIMD_LIMITS = {
  urlLength: 512,
  bodyBytes: 5 * 1024,
  timeoutMs: 5000,
  redirectUris: DCR_LIMITS.redirectUris,
  nameLength: DCR_LIMITS.nameLength,
  minCacheSeconds: 60,
  maxCacheSeconds: 24 * 3600,
  defaultCacheSeconds: 600,
} as const;

export type CimdFailure = { ok: false; reason: string };

/** Quick test: does this `client_id` name a metadata document (rather than a registered client's opaque id)? */
export function looksLikeDocumentUrl(clientId: string): boolean {
  return /^https?:\/\//i.test(clientId);
}

/** Names that resolve to the local host or a private network by convention, never to a public client's site. */
const LOCAL_SUFFIXES = [".localhost", ".local", ".internal", ".intranet", ".lan", ".home", ".corp", ".private", ".home.arpa"];

function isIpLiteral(hostname: string): boolean {
  // The URL parser already turned every IPv4 spelling (hex, octal, short forms) into dotted decimal.
  return hostname.startsWith("[") || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname);
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Checks a `client_id` as a Client Identifier URL (draft §3) and as a fetch target (§8.6, SSRF):
 * - https, with a path other than "/", no fragment, no userinfo, no "." or ".." segments;
 * - in canonical form (the URL parser's serialisation), because the document's `client_id` must equal it by
 *   simple string comparison (§4, no normalisation) and what is fetched and shown must be exactly what was sent;
 * - a DNS name with a dot that is not a local-only name (localhost, *.local, *.internal, …), never an IP literal:
 *   a Worker cannot see the address a name resolves to, so private addresses are excluded by name here and by the
 *   platform (a deployed Worker's fetch does not reach private networks);
 * - `allowLoopback` (only when the issuer itself is a loopback URL: dev and tests): also http or https on
 *   127.0.0.0/8, ::1 or localhost, any port.
 */
export function checkDocumentUrl(raw: string, opts: { allowLoopback: boolean }): { ok: true; url: URL } | CimdFailure {
  if (raw.length > CIMD_LIMITS.urlLength) return { ok: false, reason: "url_too_long" };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a URL with control characters is refused
  if (/[\u0000-\u0020\u007f-\u00a0\u2028\u2029\\]/.test(raw)) return { ok: false, reason: "url_whitespace_or_control" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "url_not_absolute" };
  }
  if (raw.includes("#")) return { ok: false, reason: "url_fragment" };
  if (url.username || url.password) return { ok: false, reason: "url_userinfo" };
  if (url.href !== raw) return { ok: false, reason: "url_not_canonical" };
  if (url.pathname === "/" || url.pathname === "") return { ok: false, reason: "url_no_path" };
  if (url.pathname.split("/").some((s) => s === "." || s === "..")) return { ok: false, reason: "url_dot_segment" };
  const host = url.hostname;
  const loopback = isLoopbackHost(host);
  if (loopback && opts.allowLoopback) {
    if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, reason: "url_not_https" };
    return { ok: true, url };
  }
  if (url.protocol !== "https:") return { ok: false, reason: "url_not_https" };
  if (isIpLiteral(host)) return { ok: false, reason: "url_ip_literal" };
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (loopback || name === "localhost" || !name.includes(".") || LOCAL_SUFFIXES.some((s) => name.endsWith(s))) return { ok: false, reason: "url_local_name" };
  return { ok: true, url };
}

/** What is kept of a validated document: enough to authorize with and to show the user. */
export interface ClientDocument {
  client_id: string;
  client_name?: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: ["code"];
  token_endpoint_auth_method: "none";
  scope?: string;
  client_uri?: string;
}

/** Client authentication methods that need a shared secret: a public document can never carry one (§4). */
const SECRET_METHODS = new Set(["client_secret_basic", "client_secret_post", "client_secret_jwt"]);
const USABLE_GRANTS = new Set(["authorization_code", "refresh_token"]);

/**
 * Validates a fetched document's bytes against the URL it was fetched from (draft §4, §8.1):
 * - at most CIMD_LIMITS.bodyBytes, a JSON object;
 * - `client_id` equal to the URL by simple string comparison;
 * - no `client_secret` or `client_secret_expires_at`, and a public client: `token_endpoint_auth_method` absent
 *   or "none". Shared-secret methods are forbidden by the draft; `private_key_jwt`, which the draft allows, is
 *   not supported here (every client of this server is public and PKCE-bound), so a document that offers only
 *   that is refused;
 * - `redirect_uris` present and each one acceptable by the same rules as a dynamic registration;
 * - `grant_types` (default authorization_code) including authorization_code, `response_types` (default code)
 *   including code; other values, meant for other servers, are ignored rather than refused;
 * - `client_name` a short string without control characters (it is self-asserted: pages show the document's
 *   host beside it); `client_uri` kept only when it is an https URL.
 */
export function validateDocument(body: Uint8Array, clientId: string): { ok: true; doc: ClientDocument } | CimdFailure {
  if (body.byteLength > CIMD_LIMITS.bodyBytes) return { ok: false, reason: "doc_too_large" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    return { ok: false, reason: "doc_not_json" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { ok: false, reason: "doc_not_object" };
  const m = parsed as Record<string, unknown>;
  if (m.client_id !== clientId) return { ok: false, reason: "doc_client_id_mismatch" };
  if ("client_secret" in m || "client_secret_expires_at" in m) return { ok: false, reason: "doc_has_client_secret" };
  const method = m.token_endpoint_auth_method ?? "none";
  if (typeof method !== "string") return { ok: false, reason: "doc_bad_auth_method" };
  if (SECRET_METHODS.has(method)) return { ok: false, reason: "doc_shared_secret_auth_method" };
  if (method !== "none") return { ok: false, reason: `doc_auth_method_unsupported:${method.slice(0, 40)}` };

  const uris = m.redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0) return { ok: false, reason: "doc_no_redirect_uris" };
  if (uris.length > CIMD_LIMITS.redirectUris) return { ok: false, reason: "doc_too_many_redirect_uris" };
  const redirect_uris: string[] = [];
  for (const u of uris) {
    const checked = checkRedirectUri(u);
    if (!checked.ok) return { ok: false, reason: `doc_redirect_uri:${checked.reason}` };
    redirect_uris.push(checked.uri);
  }

  const grants = m.grant_types ?? ["authorization_code"];
  if (!Array.isArray(grants) || !grants.includes("authorization_code")) return { ok: false, reason: "doc_no_authorization_code_grant" };
  const responses = m.response_types ?? ["code"];
  if (!Array.isArray(responses) || !responses.includes("code")) return { ok: false, reason: "doc_no_code_response_type" };

  const doc: ClientDocument = {
    client_id: clientId,
    redirect_uris,
    grant_types: grants.filter((g): g is string => typeof g === "string" && USABLE_GRANTS.has(g)),
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
  const name = m.client_name;
  if (name !== undefined) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a name with control characters is refused
    if (typeof name !== "string" || name.length > CIMD_LIMITS.nameLength || /[\u0000-\u001f\u007f]/.test(name)) return { ok: false, reason: "doc_bad_client_name" };
    if (name.trim() !== "") doc.client_name = name;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a scope with control characters is ignored
  if (typeof m.scope === "string" && m.scope.length <= 200 && !/[\u0000-\u001f\u007f]/.test(m.scope)) doc.scope = m.scope;
  if (typeof m.client_uri === "string" && m.client_uri.length <= DCR_LIMITS.uriLength && /^https:\/\/[^\s]+$/.test(m.client_uri)) doc.client_uri = m.client_uri;
  return { ok: true, doc };
}

/** A JSON media type: application/json or any `+json` type, parameters ignored. */
export function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const type = value.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

/**
 * How long a fetched document stays fresh (draft §5.2; RFC 9111 §4.2.1): `max-age` less `Age`, else `Expires`
 * less `Date` (or now); `no-store` and `no-cache` count as zero. The result is clamped to
 * [minCacheSeconds, maxCacheSeconds]; a response that says nothing gets defaultCacheSeconds.
 */
export function cacheSeconds(h: { cacheControl: string | null; expires: string | null; date: string | null; age: string | null }, nowMs: number): number {
  const clamp = (s: number) => Math.min(CIMD_LIMITS.maxCacheSeconds, Math.max(CIMD_LIMITS.minCacheSeconds, Math.floor(s)));
  const directives = new Map<string, string>();
  for (const part of (h.cacheControl ?? "").split(",")) {
    const [k, v] = part.split("=", 2).map((s) => s.trim());
    if (k) directives.set(k.toLowerCase(), (v ?? "").replace(/^"|"$/g, ""));
  }
  if (directives.has("no-store") || directives.has("no-cache")) return clamp(0);
  const age = h.age !== null && /^\d+$/.test(h.age.trim()) ? Number(h.age.trim()) : 0;
  const maxAge = directives.get("max-age");
  if (maxAge !== undefined) return /^\d+$/.test(maxAge) ? clamp(Number(maxAge) - age) : clamp(0);
  if (h.expires !== null) {
    const expires = Date.parse(h.expires);
    if (Number.isNaN(expires)) return clamp(0); // RFC 9111 §5.3: an invalid Expires means already expired
    const date = h.date !== null ? Date.parse(h.date) : NaN;
    return clamp((expires - (Number.isNaN(date) ? nowMs : date)) / 1000 - age);
  }
  return CIMD_LIMITS.defaultCacheSeconds;
}
