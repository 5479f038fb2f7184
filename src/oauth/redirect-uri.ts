import { isLoopbackUrl } from "../http/loopback";

/**
 * Single-label app schemes of MCP clients that register one (Cursor's `cursor://anysphere.cursor-mcp/…`, VS Code's):
 * an explicit list, because a scheme without a domain says nothing about which app claims it, and operating systems
 * hand many such schemes to powerful handlers (`ms-msdt:`, `search-ms:`, `ms-officecmd:`, `shell:`, …).
 */
const APP_SCHEMES = new Set(["cursor:", "vscode:", "vscode-insiders:", "windsurf:"]);

/** First labels of dotted schemes that are not reverse domain names (`vnd.ms.radio:`, `ie.http:`). */
const NOT_A_DOMAIN = new Set(["vnd", "ie", "x", "ms", "web"]);

/**
 * A native app's private-use URI scheme redirect (RFC 8252 §7.1): a reverse domain name the app's publisher
 * controls (`com.example.app:/oauth2redirect`: at least two labels, the first without a hyphen, so `x-apple.…`
 * handlers are not one), or one of the known app schemes above with a host. Everything else, including every
 * scheme of a browser (`javascript:`, `data:`, `blob:`, `about:`, …) or an OS handler, is refused. It is matched
 * exactly, and PKCE S256, mandatory here, protects the code from another app claiming the scheme (RFC 8252 §8.1).
 */
function isPrivateUseRedirect(url: URL): boolean {
  if (APP_SCHEMES.has(url.protocol)) return url.host !== "";
  const scheme = url.protocol.slice(0, -1);
  if (!/^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+$/.test(scheme)) return false;
  return !NOT_A_DOMAIN.has(scheme.split(".")[0]!);
}

/**
 * Redirect URIs a public client may register (RFC 9700 §4.1, OAuth 2.1 §2.3.1): https, http on a loopback
 * address (native apps, RFC 8252 §7.3), or a native app's private-use scheme (RFC 8252 §7.1; Cursor registers
 * one). Refused: other schemes (javascript:, data:, file:, vbscript:, OS handlers, …),
 * fragments, userinfo, wildcards, and any string that is not already in its canonical form (case or whitespace
 * tricks, control characters, percent-encoded host), so what is stored is exactly what is matched later.
 */
export function checkRedirectUri(raw: unknown): { ok: true; uri: string } | { ok: false; reason: string } {
  if (typeof raw !== "string") return { ok: false, reason: "not a string" };
  if (raw.length === 0 || raw.length > 2000) return { ok: false, reason: "length" };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a redirect URI with control characters is refused
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

/**
 * How a redirect target is named to the user on the sign-in and consent pages: the host of a web or loopback
 * redirect; for an app scheme the scheme too (`cursor://anysphere.cursor-mcp`, `com.example.app:`), since the
 * scheme, not a host, says which app receives the code.
 */
export function redirectLabel(uri: string): string {
  const url = new URL(uri);
  if (url.protocol === "https:" || url.protocol === "http:") return url.host;
  return url.host ? `${url.protocol}//${url.host}` : url.protocol;
}
