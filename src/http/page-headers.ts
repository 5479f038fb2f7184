import type { Context } from "hono";
import type { AppEnv } from "../env";

/**
 * The CSP `form-action` source that lets a form post end in a redirect to `target`. Chromium applies
 * `form-action` to every redirect that follows a form submission (CSP3 §6.3.1), so the consent form's page must
 * allow the client's redirect URI and the login page must allow the upstream identity provider.
 * - http(s): the target's origin (a loopback redirect carries its own port).
 * - a private-use scheme (RFC 8252 §7.1, e.g. `cursor://…`): its URL has no origin ("null"), so the scheme
 *   itself, as a CSP scheme-source (`cursor:`).
 */
export function formActionSource(target: string): string | undefined {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (url.protocol === "https:" || url.protocol === "http:") return url.origin;
  // Scheme names are [a-z][a-z0-9+.-]* (RFC 3986 §3.1): nothing in them can break out of the header.
  return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? url.protocol : undefined;
}

/**
 * Headers of every HTML page (sign-in, consent, errors):
 * - `Referrer-Policy: same-origin`. The Fetch standard serialises a POST's `Origin` as `null` when the page's
 *   referrer policy is `no-referrer`, and the Origin check refuses `null`; so `no-referrer` made every browser's
 *   login and consent post fail. `same-origin` lets the browser state our origin on our own forms while still
 *   sending no `Referer` (with its authorization-request query) to the client or the identity provider.
 * - a CSP with no scripts, posts only to us and to the given redirect targets, no framing (clickjacking).
 * - `Cache-Control: no-store`: pages carry per-request CSRF tokens and must never be served from a cache.
 */
export function htmlPageHeaders(c: Context<AppEnv>, formTargets: ReadonlyArray<string | undefined> = []): void {
  const sources = ["'self'", ...new Set(formTargets.flatMap((t) => (t ? [formActionSource(t)] : [])).filter((s): s is string => s !== undefined))];
  c.header("Content-Security-Policy", `default-src 'none'; style-src 'unsafe-inline'; form-action ${sources.join(" ")}; frame-ancestors 'none'; base-uri 'none'`);
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "same-origin");
  c.header("Cache-Control", "no-store");
}
