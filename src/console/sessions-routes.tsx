/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { revokeInWorkspace } from "../admin/revoke";
import { nowSeconds } from "../lib/clock";
import { liveSessionsStatement, taskClientsStatement } from "../oauth/listing-d1";
import { taskPrincipalsStatement, toolNamesStatement } from "../policy/directory-d1";
import { auditConsoleRefusal, type ConsoleUser } from "./auth";
import { forbidden, page, signedIn } from "./guard";
import { SecretPage, SessionsPage, type SessionListRow, type TaskFormData, type TaskListRow } from "./sessions-pages";
import { createOrProposeTask } from "../admin/proposals";
import { TASK_SPEC_HELP, parseTaskSpec, rotateTaskSecret } from "../admin/tasks";

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
  const [sessions, tasks, taskIds, tools] = await c.env.DB.batch([
    liveSessionsStatement(c.env.DB, user.workspace, now),
    taskClientsStatement(c.env.DB, user.workspace),
    taskPrincipalsStatement(c.env.DB, user.workspace),
    toolNamesStatement(c.env.DB, user.workspace),
  ]);
  const form: TaskFormData = {
    tasks: ((taskIds?.results ?? []) as Array<{ id: string }>).map((r) => r.id.replace(/^task:/, "")),
    tools: (tools?.results ?? []) as Array<{ name: string; kind: string }>,
  };
  return page(c, status, (n) => (
    <SessionsPage nonce={n} user={user} sessions={(sessions?.results ?? []) as SessionListRow[]} tasks={(tasks?.results ?? []) as TaskListRow[]} form={form} now={now} {...(flash ? { flash } : {})} />
  ));
}

sessionsConsole.get("/", (c) => admin(c, (user) => show(c, user, 200, c.req.query("revoked") ? { kind: "notice", text: "Revoked. Its tokens are refused from their next call." } : undefined)));

// POST /console/sessions/revoke: kind=session|client (a task client) and value; the admin API's workspace checks.
sessionsConsole.post("/revoke", (c) =>
  admin(c, async (user, form) => {
    const kind = form?.get("kind");
    const value = form?.get("value");
    if ((kind !== "session" && kind !== "client") || typeof value !== "string" || value.length === 0 || value.length > 254)
      return show(c, user, 400, { kind: "error", text: "Choose a session or task client to revoke." });
    const r = await revokeInWorkspace(c, { id: user.principal, workspace: user.workspace }, kind, value, "revoked_in_console");
    if (!r.ok) return show(c, user, 404, { kind: "error", text: `No such ${kind} in workspace ${user.workspace}.` });
    return c.redirect(`/console/sessions?revoked=${kind}`, 303);
  }),
);

// POST /console/sessions/tasks: create a task client. Its secret is on the response page only, once (the page is
// no-store; D1 keeps its hash). A client with a write tool is held for a second admin, and the page says so.
sessionsConsole.post("/tasks", (c) =>
  admin(c, async (user, form) => {
    const now = nowSeconds();
    const str = (k: string) => {
      const v = form?.get(k);
      return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
    };
    const expires = str("expires_at");
    const spec = parseTaskSpec(
      {
        task: str("task"),
        tools: (form?.getAll("tools") ?? []).filter((t): t is string => typeof t === "string"),
        ...(str("ttl_seconds") ? { ttl_seconds: str("ttl_seconds") } : {}),
        // A date input sends YYYY-MM-DD: the client ends at the end of that day (UTC).
        ...(expires ? { expires_at: /^\d{4}-\d{2}-\d{2}$/.test(expires) ? `${expires}T23:59:59Z` : expires } : {}),
        ...(str("name") ? { name: str("name") } : {}),
      },
      now,
    );
    if (!spec) return show(c, user, 400, { kind: "error", text: `Not created: ${TASK_SPEC_HELP}` });
    const r = await createOrProposeTask(c, { id: user.principal, workspace: user.workspace }, spec);
    if (!r.ok) return show(c, user, 400, { kind: "error", text: `Not created: ${r.message}` });
    return page(c, r.held ? 202 : 201, (n) => (
      <SecretPage
        nonce={n}
        user={user}
        title={r.held ? "Task client proposed" : "Task client created"}
        clientId={r.client.clientId}
        secret={r.secret}
        detail={`${spec.task}: ${spec.tools.join(", ")}, ${spec.ttl}-second tokens, until ${new Date(spec.expiresAt * 1000).toISOString()}`}
        {...(r.proposal ? { proposalId: r.proposal.id } : {})}
      />
    ));
  }),
);

// POST /console/sessions/rotate: a new secret for a live task client (the old one stops working at once).
sessionsConsole.post("/rotate", (c) =>
  admin(c, async (user, form) => {
    const clientId = form?.get("client_id");
    if (typeof clientId !== "string" || clientId.length === 0 || clientId.length > 254) return show(c, user, 400, { kind: "error", text: "Choose a task client." });
    const r = await rotateTaskSecret(c, { id: user.principal, workspace: user.workspace }, clientId);
    if (!r.ok) return show(c, user, 404, { kind: "error", text: `No live task client ${clientId} in workspace ${user.workspace}.` });
    return page(c, 200, (n) => <SecretPage nonce={n} user={user} title="Secret rotated" clientId={clientId} secret={r.secret} detail="The previous secret no longer works." />);
  }),
);
