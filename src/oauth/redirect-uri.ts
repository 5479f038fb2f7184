import { isLoopbackUrl } from "../http/loopback";

/**
 * Schemes that are never a native app's private-use redirect: script and document schemes that a browser would
 * run or render itself, local files, the web's own transports (http/https have their own rules above), and
 * schemes that hand the URL to another application or browser component.
 */
const NOT_PRIVATE_USE = new Set([
  "javascript:", "vbscript:", "data:", "blob:", "file:", "filesystem:", "about:", "view-source:", "jar:", "resource:",
  "http:", "https:", "ws:", "wss:", "ftp:", "mailto:", "tel:", "sms:", "urn:", "intent:",
  "chrome:", "chrome-extension:", "edge:", "moz-extension:", "ms-browser-extension:", "safari-extension:",
]);

/**
 * A native app's private-use URI scheme redirect (RFC 8252 §7.1), e.g. Cursor's
 * `cursor://anysphere.cursor-mcp/oauth/callback` or `com.example.app:/oauth2redirect`. The scheme must name the
 * app: either a reverse domain name (it contains a dot, as §7.1 asks) or a URI with a host. A bare `myapp:x`
 * (no host, no domain) is refused. It is matched exactly, and PKCE S256, mandatory here, protects the code from
 * another app claiming the same scheme (RFC 8252 §8.1).
 */
function isPrivateUseRedirect(url: URL): boolean {
  if (NOT_PRIVATE_USE.has(url.protocol)) return false;
  const scheme = url.protocol.slice(0, -1);
  return scheme.includes(".") || url.host !== "";
}

/**
 * Redirect URIs a public client may register (RFC 9700 §4.1, OAuth 2.1 §2.3.1): https, http on a loopback
 * address (native apps, RFC 8252 §7.3), or a native app's private-use scheme (RFC 8252 §7.1; Cursor registers
 * one). Refused: other schemes (javascript:, data:, file:, vbscript:, …), schemes without a host or domain,
 * fragments, userinfo, wildcards, and any string that is not already in its canonical form (case or whitespace
 * tricks, control characters, percent-encoded host), so what is stored is exactly what is matched later.
 */
export function checkRedirectUri(raw: unknown): { ok: true; uri: string } | { ok: false; reason: string } {
  if (typeof raw !== "string") return { ok: false, reason: "not a string" };
  if (raw.length === 0 || raw.length > 2000) return { ok: false, reason: "length" };
  if (/[\u0000-\u0020\u007f-\u00a0\u2028\u2029\\]/.test(raw)) return { ok: false, reason: "whitespace or control character" };
  if (raw.includes("*")) return { ok: false, reason: "wildcard" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not an absolute URL" };
  }
  // The URL parser's serialisation is the canonical form; a bare origin may omit the root path's slash.
  const canonical = url.href === raw || (url.pathname === "/" && !url.search && `${raw}/` === url.href);
  if (!canonical) return { ok: false, reason: "not in canonical form" };
  if (url.hash || raw.includes("#")) return { ok: false, reason: "fragment" };
  if (url.username || url.password) return { ok: false, reason: "userinfo" };
  if (url.protocol === "https:") return { ok: true, uri: raw };
  if (url.protocol === "http:" && isLoopbackUrl(url)) return { ok: true, uri: raw };
  if (isPrivateUseRedirect(url)) return { ok: true, uri: raw };
  return { ok: false, reason: `scheme ${url.protocol} not allowed` };
}

/**
 * Exact match of a redirect URI against the registered ones (OAuth 2.1 §4.1.3), except that for loopback
 * redirects the port may differ (RFC 8252 §7.3: native apps pick an ephemeral port).
 */
export function matchRedirectUri(requested: string, registered: readonly string[]): boolean {
  if (registered.includes(requested)) return true;
  let req: URL;
  try {
    req = new URL(requested);
  } catch {
    return false;
  }
  if (req.protocol !== "http:" || !isLoopbackUrl(req) || req.href !== requested || req.username || req.password || req.hash || requested.includes("#")) return false;
  return registered.some((r) => {
    const reg = new URL(r);
    return reg.protocol === "http:" && reg.hostname === req.hostname && reg.pathname === req.pathname && reg.search === req.search && isLoopbackUrl(reg);
  });
}
