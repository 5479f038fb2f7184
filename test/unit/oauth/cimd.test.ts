import { describe, expect, it } from "vitest";
import { CIMD_LIMITS, cacheSeconds, checkDocumentUrl, isJsonContentType, looksLikeDocumentUrl, validateDocument } from "../../../src/oauth/cimd";

const ID = "https://client.example/oauth/metadata.json";
const bytes = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const doc = (extra: Record<string, unknown> = {}) => ({ client_id: ID, client_name: "Example", redirect_uris: ["https://client.example/cb"], ...extra });

function reasonOfUrl(raw: string, allowLoopback = false): string | undefined {
  const r = checkDocumentUrl(raw, { allowLoopback });
  return r.ok ? undefined : r.reason;
}

function reasonOfDoc(body: unknown, id = ID): string | undefined {
  const r = validateDocument(bytes(body), id);
  return r.ok ? undefined : r.reason;
}

describe("checkDocumentUrl (draft-ietf-oauth-client-id-metadata-document §3, §8.6)", () => {
  it("accepts a public https URL with a path, a port or a query", () => {
    expect(reasonOfUrl(ID)).toBeUndefined();
    expect(reasonOfUrl("https://client.example:8443/c.json")).toBeUndefined();
    expect(reasonOfUrl("https://client.example/c?v=2")).toBeUndefined();
  });

  it.each([
    ["http on a public host", "http://client.example/c.json", "url_not_https"],
    ["no path", "https://client.example", "url_not_canonical"],
    ["the root path", "https://client.example/", "url_no_path"],
    ["a fragment", "https://client.example/c.json#x", "url_fragment"],
    ["an empty fragment", "https://client.example/c.json#", "url_fragment"],
    ["userinfo", "https://user:pw@client.example/c.json", "url_userinfo"],
    ["a dot-dot segment", "https://client.example/a/../c.json", "url_not_canonical"],
    ["an encoded dot segment", "https://client.example/a/%2e%2e/c.json", "url_not_canonical"],
    ["an upper-case host", "https://Client.Example/c.json", "url_not_canonical"],
    ["whitespace", "https://client.example/c .json", "url_whitespace_or_control"],
    ["not a URL", "https://", "url_not_absolute"],
    ["too long", `https://client.example/${"a".repeat(CIMD_LIMITS.urlLength)}`, "url_too_long"],
    ["an IPv4 literal", "https://93.184.216.34/c.json", "url_ip_literal"],
    ["a private IPv4 literal", "https://10.0.0.1/c.json", "url_ip_literal"],
    ["link-local metadata address", "https://169.254.169.254/latest", "url_ip_literal"],
    ["a CGNAT address", "https://100.64.0.1/c.json", "url_ip_literal"],
    ["an IPv4 literal in hex", "https://0x7f000001/c.json", "url_not_canonical"],
    ["an IPv6 literal", "https://[fd00::1]/c.json", "url_ip_literal"],
    ["an IPv4-mapped IPv6 literal", "https://[::ffff:a00:1]/c.json", "url_ip_literal"],
    ["loopback IPv4 in production", "https://127.0.0.1/c.json", "url_ip_literal"],
    ["loopback IPv6 in production", "https://[::1]/c.json", "url_ip_literal"],
    ["localhost in production", "https://localhost/c.json", "url_local_name"],
    ["a name under localhost", "https://app.localhost/c.json", "url_local_name"],
    ["an mDNS name", "https://printer.local/c.json", "url_local_name"],
    ["an internal name", "https://metadata.google.internal/computeMetadata", "url_local_name"],
    ["home.arpa", "https://nas.home.arpa/c.json", "url_local_name"],
    ["a single-label name", "https://intranet/c.json", "url_local_name"],
    ["a trailing-dot local name", "https://localhost./c.json", "url_local_name"],
  ])("refuses %s", (_name, raw, reason) => {
    expect(reasonOfUrl(raw)).toBe(reason);
  });

  it("on a loopback issuer only, accepts http or https on loopback (dev and tests), and still refuses private addresses", () => {
    expect(reasonOfUrl("http://127.0.0.1:4100/client.json", true)).toBeUndefined();
    expect(reasonOfUrl("https://localhost:4100/client.json", true)).toBeUndefined();
    expect(reasonOfUrl("http://[::1]:4100/client.json", true)).toBeUndefined();
    expect(reasonOfUrl("http://127.0.0.1:4100/client.json", false)).toBe("url_not_https");
    expect(reasonOfUrl("http://10.0.0.1/client.json", true)).toBe("url_not_https");
    expect(reasonOfUrl("https://192.168.1.1/client.json", true)).toBe("url_ip_literal");
    expect(reasonOfUrl("http://127.0.0.1:4100/", true)).toBe("url_no_path");
  });

  it("tells metadata URLs from registered ids", () => {
    expect(looksLikeDocumentUrl(ID)).toBe(true);
    expect(looksLikeDocumentUrl("http://127.0.0.1:1/c")).toBe(true);
    expect(looksLikeDocumentUrl("ghcl_abc")).toBe(false);
  });
});

describe("validateDocument (draft §4, §8.1, §8.7)", () => {
  it("keeps what authorizing needs and defaults the rest", () => {
    const r = validateDocument(
      bytes(
        doc({
          grant_types: ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
          client_uri: "https://client.example",
          logo_uri: "https://client.example/l.png",
          jwks_uri: "https://x",
        }),
      ),
      ID,
    );
    expect(r).toEqual({
      ok: true,
      doc: {
        client_id: ID,
        client_name: "Example",
        redirect_uris: ["https://client.example/cb"],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
        client_uri: "https://client.example",
      },
    });
    expect(validateDocument(bytes({ client_id: ID, redirect_uris: ["http://127.0.0.1:9/cb", "cursor://anysphere.cursor-mcp/oauth/callback"] }), ID).ok).toBe(true);
  });

  it("refuses a document whose client_id is not exactly the URL it came from", () => {
    expect(reasonOfDoc(doc({ client_id: "https://attacker.example/oauth/metadata.json" }))).toBe("doc_client_id_mismatch");
    expect(reasonOfDoc(doc({ client_id: `${ID}/` }))).toBe("doc_client_id_mismatch");
    expect(reasonOfDoc(doc({ client_id: ID.toUpperCase() }))).toBe("doc_client_id_mismatch");
    expect(reasonOfDoc(doc({ client_id: undefined }))).toBe("doc_client_id_mismatch");
  });

  it.each([
    ["not JSON", "<html>hello</html>", "doc_not_json"],
    ["a JSON array", [doc()], "doc_not_object"],
    ["null", "null", "doc_not_object"],
    ["a client secret", doc({ client_secret: "s3cret" }), "doc_has_client_secret"],
    ["a secret expiry", doc({ client_secret_expires_at: 0 }), "doc_has_client_secret"],
    ["client_secret_basic", doc({ token_endpoint_auth_method: "client_secret_basic" }), "doc_shared_secret_auth_method"],
    ["client_secret_post", doc({ token_endpoint_auth_method: "client_secret_post" }), "doc_shared_secret_auth_method"],
    ["client_secret_jwt", doc({ token_endpoint_auth_method: "client_secret_jwt" }), "doc_shared_secret_auth_method"],
    ["private_key_jwt (not supported here)", doc({ token_endpoint_auth_method: "private_key_jwt", jwks_uri: "https://client.example/jwks" }), "doc_auth_method_unsupported:private_key_jwt"],
    ["no redirect URIs", doc({ redirect_uris: undefined }), "doc_no_redirect_uris"],
    ["an empty redirect list", doc({ redirect_uris: [] }), "doc_no_redirect_uris"],
    ["too many redirect URIs", doc({ redirect_uris: Array.from({ length: 11 }, (_, i) => `https://client.example/cb${i}`) }), "doc_too_many_redirect_uris"],
    ["an http redirect on a public host", doc({ redirect_uris: ["http://client.example/cb"] }), "doc_redirect_uri:scheme http: not allowed"],
    ["a javascript: redirect", doc({ redirect_uris: ["javascript:alert(1)"] }), "doc_redirect_uri:scheme javascript: not allowed"],
    ["a redirect with a fragment", doc({ redirect_uris: ["https://client.example/cb#x"] }), "doc_redirect_uri:fragment"],
    ["a wildcard redirect", doc({ redirect_uris: ["https://*.client.example/cb"] }), "doc_redirect_uri:wildcard"],
    ["no authorization_code grant", doc({ grant_types: ["client_credentials"] }), "doc_no_authorization_code_grant"],
    ["no code response type", doc({ response_types: ["token"] }), "doc_no_code_response_type"],
    ["a control character in the name", doc({ client_name: "Good\u0007App" }), "doc_bad_client_name"],
    ["a name that is not a string", doc({ client_name: 42 }), "doc_bad_client_name"],
    ["an over-long name", doc({ client_name: "n".repeat(CIMD_LIMITS.nameLength + 1) }), "doc_bad_client_name"],
  ])("refuses %s", (_name, body, reason) => {
    expect(reasonOfDoc(body)).toBe(reason);
  });

  it(`refuses more than ${CIMD_LIMITS.bodyBytes} bytes, and invalid UTF-8`, () => {
    const padded = JSON.stringify(doc({ client_uri: `https://client.example/${"p".repeat(CIMD_LIMITS.bodyBytes)}` }));
    expect(validateDocument(bytes(padded), ID)).toEqual({ ok: false, reason: "doc_too_large" });
    expect(validateDocument(new Uint8Array([0x7b, 0xff, 0x7d]), ID)).toEqual({ ok: false, reason: "doc_not_json" });
  });
});

describe("cacheSeconds (draft §5.2, RFC 9111 §4.2.1) and the media type", () => {
  const now = Date.parse("2026-11-29T12:00:00Z");
  const h = (x: Partial<{ cacheControl: string; expires: string; date: string; age: string }>) => ({
    cacheControl: x.cacheControl ?? null,
    expires: x.expires ?? null,
    date: x.date ?? null,
    age: x.age ?? null,
  });

  it("follows max-age less Age, within the bounds", () => {
    expect(cacheSeconds(h({ cacheControl: "public, max-age=3600" }), now)).toBe(3600);
    expect(cacheSeconds(h({ cacheControl: "max-age=3600", age: "600" }), now)).toBe(3000);
    expect(cacheSeconds(h({ cacheControl: "max-age=31536000" }), now)).toBe(CIMD_LIMITS.maxCacheSeconds);
    expect(cacheSeconds(h({ cacheControl: "max-age=5" }), now)).toBe(CIMD_LIMITS.minCacheSeconds);
  });

  it("no-store, no-cache, max-age=0 and junk all mean the minimum", () => {
    for (const cc of ["no-store", "no-cache", "max-age=0", "max-age=soon"]) expect(cacheSeconds(h({ cacheControl: cc }), now)).toBe(CIMD_LIMITS.minCacheSeconds);
  });

  it("uses Expires against Date when there is no max-age, and the default when nothing is said", () => {
    expect(cacheSeconds(h({ expires: "Sun, 29 Nov 2026 14:00:00 GMT", date: "Sun, 29 Nov 2026 12:00:00 GMT" }), now)).toBe(7200);
    expect(cacheSeconds(h({ expires: "Sun, 29 Nov 2026 12:30:00 GMT" }), now)).toBe(1800);
    expect(cacheSeconds(h({ expires: "0" }), now)).toBe(CIMD_LIMITS.minCacheSeconds);
    expect(cacheSeconds(h({}), now)).toBe(CIMD_LIMITS.defaultCacheSeconds);
  });

  it("accepts JSON media types only", () => {
    expect(isJsonContentType("application/json")).toBe(true);
    expect(isJsonContentType("application/json; charset=utf-8")).toBe(true);
    expect(isJsonContentType("application/vnd.example+json")).toBe(true);
    expect(isJsonContentType("text/html")).toBe(false);
    expect(isJsonContentType("text/plain")).toBe(false);
    expect(isJsonContentType(null)).toBe(false);
  });
});
