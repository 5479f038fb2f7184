/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { revokeInWorkspace } from "../admin/revoke";
import { nowSeconds } from "../lib/clock";
import { DEFAULT_SESSION_POLICY } from "../oauth/session-policy";
import { auditConsoleRefusal, type ConsoleUser } from "./auth";
import { forbidden, page, signedIn } from "./guard";
import { SessionsPage, type SessionListRow, type TaskListRow } from "./sessions-pages";

/** Active sessions and task clients of the admin's workspace, with revoke (docs/security.md revocation, §8). */
export const sessionsConsole = new Hono<AppEnv>();

function admin(c: Context<AppEnv>, run: (user: ConsoleUser, form: FormData | null) => Promise<Response>): Promise<Response> {
  return signedIn(c, async (user, form) => {
    if (!user.roles.admin) {
      await auditConsoleRefusal(c, "not_admin", { principal: user.principal, workspace: user.workspace });
      return forbidden(c);
    }
    return run(user, form);
  });
}

async function show(c: Context<AppEnv>, user: ConsoleUser, status: 200 | 400 | 404, flash?: { kind: "notice" | "error"; text: string }): Promise<Response> {
  const now = nowSeconds();
  const [sessions, tasks] = await c.env.DB.batch([
    c.env.DB.prepare(
      `SELECT s.id, s.client_id, c.client_name, s.principal_id, s.scope, s.created_at, s.last_used_at, s.expires_at FROM sessions s LEFT JOIN oauth_clients c ON c.client_id = s.client_id
       WHERE s.workspace_id = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2 AND s.last_used_at > ?2 - ${DEFAULT_SESSION_POLICY.idleSeconds} ORDER BY s.last_used_at DESC LIMIT 200`,
    ).bind(user.workspace, now),
    c.env.DB.prepare("SELECT client_id, client_name, principal_id, tools, token_ttl, expires_at, last_used_at, created_at, created_by FROM oauth_clients WHERE kind = 'task' AND workspace_id = ? ORDER BY created_at DESC LIMIT 200").bind(user.workspace),
  ]);
  return page(c, status, (n) => (
    <SessionsPage nonce={n} user={user} sessions={(sessions?.results ?? []) as SessionListRow[]} tasks={(tasks?.results ?? []) as TaskListRow[]} now={now} {...(flash ? { flash } : {})} />
  ));
}

sessionsConsole.get("/", (c) => admin(c, (user) => show(c, user, 200, c.req.query("revoked") ? { kind: "notice", text: "Revoked. Its tokens are refused from their next call." } : undefined)));

// POST /console/sessions/revoke: kind=session|client (a task client) and value; the admin API's workspace checks.
sessionsConsole.post("/revoke", (c) =>
  admin(c, async (user, form) => {
    const kind = form?.get("kind");
    const value = form?.get("value");
    if ((kind !== "session" && kind !== "client") || typeof value !== "string" || value.length === 0 || value.length > 254) return show(c, user, 400, { kind: "error", text: "Choose a session or task client to revoke." });
    const r = await revokeInWorkspace(c, { id: user.principal, workspace: user.workspace }, kind, value, "revoked_in_console");
    if (!r.ok) return show(c, user, 404, { kind: "error", text: `No such ${kind} in workspace ${user.workspace}.` });
    return c.redirect(`/console/sessions?revoked=${kind}`, 303);
  }),
);
