import type { Context } from "hono";
import type { AppEnv } from "../env";
import { randomId } from "../lib/sha256";

/**
 * Headers of every console page, and the page's nonce. A strict CSP (CSP3 §8.2 nonces): scripts and styles run
 * only from elements carrying this response's nonce (no inline handlers, no `unsafe-inline`), nothing is loaded
 * from anywhere, forms post only to us, the page is never framed (`frame-ancestors 'none'`, clickjacking).
 * `same-origin` referrer policy so our own form posts carry our Origin (a no-referrer page posts `Origin: null`);
 * `no-store` because pages carry the session's CSRF token and approval data.
 */
export function consolePageHeaders(c: Context<AppEnv>): string {
  const nonce = randomId(16);
  c.header("Content-Security-Policy", `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "same-origin");
  c.header("Cache-Control", "no-store");
  return nonce;
}
