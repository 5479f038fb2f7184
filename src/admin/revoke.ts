import type { Context } from "hono";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { taskPrincipalId, userPrincipalId } from "../policy/compile";
import { oauthAuditStatement } from "../oauth/audit";
import { revocationStatements } from "../oauth/store-d1";
import { expireTaskClientsStatement, isWorkspaceClient, isWorkspaceSession } from "../oauth/listing-d1";
import { isPrincipal } from "../policy/directory-d1";
import { endDatabaseLogins } from "../oauth/database-logins";

/** What an admin can revoke, and the revocation kind each maps to (a user or task revokes its principal). */
export const REVOCABLE = { session: "session", user: "principal", client: "client", token: "token", task: "principal" } as const;
export type RevocableKind = keyof typeof REVOCABLE;

/**
 * Revokes within the admin's workspace (admin API and console alike): the user, task, session or client must
 * belong to it, and the revocation refuses only tokens issued for it (a token id names no workspace, so its
 * revocation is recorded for this one). The revocation and its audit row are one transaction; then the matching
 * logins of the workspace's dynamic database credentials are ended (oauth/database-logins.ts).
 */
export async function revokeInWorkspace(
  c: Context<AppEnv>,
  admin: { id: string; workspace: string },
  kind: RevocableKind,
  raw: string,
  reason: string,
): Promise<{ ok: true; value: string; at: number } | { ok: false }> {
  const value = kind === "user" ? userPrincipalId(raw.toLowerCase()) : kind === "task" ? taskPrincipalId(raw) : raw;
  const now = nowSeconds();
  const ws = admin.workspace;
  const owned =
    kind === "token" ||
    (kind === "user" || kind === "task" ? await isPrincipal(c.env.DB, ws, value) : kind === "session" ? await isWorkspaceSession(c.env.DB, ws, value) : await isWorkspaceClient(c.env.DB, ws, value));
  if (!owned) return { ok: false };
  await c.env.DB.batch([
    ...revocationStatements(c.env.DB, { kind: REVOCABLE[kind], value, workspace: ws, reason, by: admin.id, now }),
    ...(kind === "task" ? [expireTaskClientsStatement(c.env.DB, ws, value, now)] : []),
    oauthAuditStatement(c, { event: "revocation", outcome: "ok", rule: kind, principal: admin.id, workspace: ws, detail: value }),
  ]);
  await endDatabaseLogins(c, { kind: REVOCABLE[kind], value, workspace: ws }, { principal: admin.id });
  return { ok: true, value, at: now };
}
