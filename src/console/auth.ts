import type { Context } from "hono";
import { deleteCookie, getCookie } from "hono/cookie";
import type { AppEnv } from "../env";
import { configFor } from "../http/config";
import { nowSeconds } from "../lib/clock";
import { recordOAuthEvent, recordOAuthRefusal } from "../oauth/audit";
import { accessFor } from "../oauth/consent-data";
import { hashSecret } from "../oauth/secrets";
import { CONSOLE_CLIENT_ID, SESSION_COOKIE, consoleRoles, consoleSessionState, safeReturnPath, type ConsoleRoles } from "./session";
import { deleteConsoleSession, getConsoleSession, touchConsoleSession } from "./store-d1";

/** The signed-in console user, as the current policy sees them (groups re-resolved on every request). */
export interface ConsoleUser {
  sessionHash: string;
  csrf: string;
  principal: string;
  email: string | null;
  workspace: string;
  /** Policy and IdP groups now: an approver sees the requests of these approver groups. */
  groups: string[];
  roles: ConsoleRoles;
}

export type ConsoleAuth = { ok: true; user: ConsoleUser } | { ok: false; kind: "sign_in"; returnTo: string } | { ok: false; kind: "forbidden"; principal: string; workspace: string };

/**
 * Who is calling: the session behind the cookie if it is active (idle timeout, absolute lifetime, not revoked),
 * with the roles its scope grants and the current policy still gives (an admin removed from `admins`, or an
 * approver from every approver group, loses the console at the next request, not at the end of the session).
 */
export async function consoleAuth(c: Context<AppEnv>): Promise<ConsoleAuth> {
  const url = new URL(c.req.url);
  const returnTo = safeReturnPath(url.pathname + url.search);
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!cookie || cookie.length > 100) return { ok: false, kind: "sign_in", returnTo };
  const idHash = await hashSecret(cookie);
  const row = await getConsoleSession(c.env.DB, idHash);
  const now = nowSeconds();
  if (!row || consoleSessionState(row, now) !== "active") {
    if (row) await deleteConsoleSession(c.env.DB, idHash);
    deleteCookie(c, SESSION_COOKIE, { path: "/console" });
    return { ok: false, kind: "sign_in", returnTo };
  }
  await touchConsoleSession(c.env.DB, idHash, now);
  const idpGroups = row.groups ? (JSON.parse(row.groups) as string[]) : [];
  const access = row.email ? (await accessFor(c.env.DB, row.principal_id, row.email, idpGroups, now)).find((a) => a.workspace === row.workspace_id) : undefined;
  const granted = consoleRoles(row.scope);
  const roles = { admin: granted.admin && access?.isAdmin === true, approver: granted.approver && access?.isApprover === true };
  if (!roles.admin && !roles.approver) return { ok: false, kind: "forbidden", principal: row.principal_id, workspace: row.workspace_id };
  return { ok: true, user: { sessionHash: idHash, csrf: row.csrf, principal: row.principal_id, email: row.email, workspace: row.workspace_id, groups: access?.groups ?? [], roles } };
}

/**
 * A console refusal is an audit row naming who tried what (docs/audit.md: every decision). One that anyone can provoke
 * without a session (no session, a foreign sign-in callback) is flood-bounded per IP like other such refusals.
 */
export async function auditConsoleRefusal(c: Context<AppEnv>, rule: string, who: { principal?: string; workspace?: string } = {}): Promise<void> {
  await (who.principal ? recordOAuthEvent : recordOAuthRefusal)(c, {
    event: "console.access",
    outcome: "denied",
    rule,
    clientId: CONSOLE_CLIENT_ID,
    ...(who.principal ? { principal: who.principal, principalKind: "user" } : {}),
    ...(who.workspace ? { workspace: who.workspace } : {}),
    detail: `${c.req.method} ${new URL(c.req.url).pathname}`.slice(0, 200),
  });
}

export function isSecureOrigin(c: Context<AppEnv>): boolean {
  return configFor(c.env).origin.protocol === "https:";
}
