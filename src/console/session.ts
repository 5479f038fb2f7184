import { ADMIN_SCOPE, APPROVE_SCOPE } from "../policy/tiers";

/** The console's own registration at Gatehouse's authorization server: a public first-party client. */
export const CONSOLE_CLIENT_ID = "gatehouse-console";
export const CONSOLE_CLIENT_NAME = "Gatehouse console";
/** What the console asks for. The consent page offers each only to members of the right group (admins, approvers). */
export const CONSOLE_SCOPE = `${APPROVE_SCOPE} ${ADMIN_SCOPE}`;

/** Session cookie (path /console) and the sign-in cookie that binds a callback to the browser that started it. */
export const SESSION_COOKIE = "gh_console";
export const LOGIN_COOKIE = "gh_console_login";

/** A console session ends after 30 minutes without a request, 8 hours after sign-in, or at sign-out or revocation. */
export const CONSOLE_IDLE_SECONDS = 30 * 60;
export const CONSOLE_ABSOLUTE_SECONDS = 8 * 3600;
/** A sign-in must come back from /authorize within this long. */
export const CONSOLE_LOGIN_SECONDS = 10 * 60;

export function consoleCallbackUri(issuer: string): string {
  return `${issuer}/console/callback`;
}

export interface ConsoleSessionTimes {
  last_seen_at: number;
  expires_at: number;
  revoked: number;
}

export type ConsoleSessionState = "active" | "idle" | "expired" | "revoked";

export function consoleSessionState(s: ConsoleSessionTimes, now: number): ConsoleSessionState {
  if (s.revoked) return "revoked";
  if (now >= s.expires_at) return "expired";
  if (now - s.last_seen_at >= CONSOLE_IDLE_SECONDS) return "idle";
  return "active";
}

/** What a signed-in user may do here, from the scope granted at consent. */
export interface ConsoleRoles {
  admin: boolean;
  approver: boolean;
}

export function consoleRoles(scope: string): ConsoleRoles {
  const s = new Set(scope.split(" "));
  return { admin: s.has(ADMIN_SCOPE), approver: s.has(APPROVE_SCOPE) };
}

/**
 * Where to land after sign-in: only a console path on this origin (no scheme, no `//host`, no backslash that a
 * browser reads as a slash), so the sign-in cannot be turned into an open redirect.
 */
export function safeReturnPath(raw: string | null | undefined): string {
  if (!raw || raw.length > 200) return "/console";
  if (!/^\/console(\/[A-Za-z0-9_\-/]*)?(\?[A-Za-z0-9_\-=&%.:+]*)?$/.test(raw)) return "/console";
  if (raw.includes("//")) return "/console";
  return raw;
}

/** Cookie attributes: HttpOnly, SameSite=Lax, Secure on any https origin (every non-loopback deployment). */
export function cookieOptions(secure: boolean, path: string, maxAge: number) {
  return { path, httpOnly: true, sameSite: "Lax" as const, secure, maxAge };
}

/** Minutes and seconds left, for the inbox ("12 min", "40 s", "expired"). */
export function timeLeft(expiresAt: number, now: number): string {
  const left = expiresAt - now;
  if (left <= 0) return "expired";
  if (left < 60) return `${left} s`;
  return `${Math.floor(left / 60)} min`;
}
