/** @jsxImportSource hono/jsx */
import type { ConsoleUser } from "./auth";
import { Layout } from "./pages";

export interface SessionListRow {
  id: string;
  client_id: string;
  client_name: string | null;
  principal_id: string;
  scope: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
}

export interface TaskListRow {
  client_id: string;
  client_name: string | null;
  principal_id: string;
  tools: string | null;
  token_ttl: number | null;
  expires_at: number | null;
  last_used_at: number | null;
  created_at: number;
  created_by: string | null;
}

const iso = (t: number | null) => (t === null ? "" : new Date(t * 1000).toISOString().replace(".000Z", "Z"));

function Revoke(p: { csrf: string; kind: "session" | "client"; value: string; label: string }) {
  return (
    <form method="post" action="/console/sessions/revoke">
      <input type="hidden" name="csrf" value={p.csrf} />
      <input type="hidden" name="kind" value={p.kind} />
      <input type="hidden" name="value" value={p.value} />
      <button class="danger" type="submit" aria-label={p.label}>
        Revoke
      </button>
    </form>
  );
}

export function SessionsPage(p: { nonce: string; user: ConsoleUser; sessions: SessionListRow[]; tasks: TaskListRow[]; now: number; flash?: { kind: "notice" | "error"; text: string } }) {
  return (
    <Layout title="Sessions and credentials" nonce={p.nonce} user={p.user}>
      <h1>Sessions and credentials</h1>
      {p.flash && (
        <p class={p.flash.kind} role={p.flash.kind === "error" ? "alert" : "status"}>
          {p.flash.text}
        </p>
      )}
      <h2>Active sessions</h2>
      <p class="muted">Sign-ins in workspace {p.user.workspace}. Revoking one ends its refresh token at once and its access tokens at their next /mcp call.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Client</th>
            <th scope="col">Scope</th>
            <th scope="col">Started</th>
            <th scope="col">Last refresh</th>
            <th scope="col">Expires</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {p.sessions.map((s) => (
            <tr data-session={s.id} data-principal={s.principal_id}>
              <td>{s.principal_id}</td>
              <td>{s.client_name ?? s.client_id}</td>
              <td>{s.scope}</td>
              <td>{iso(s.created_at)}</td>
              <td>{iso(s.last_used_at)}</td>
              <td>{iso(s.expires_at)}</td>
              <td>
                <Revoke csrf={p.user.csrf} kind="session" value={s.id} label={`Revoke the session of ${s.principal_id} in ${s.client_name ?? s.client_id}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.sessions.length === 0 && <p>No active sessions.</p>}
      <h2>Task clients</h2>
      <p class="muted">Automations with client credentials (create them with <code>gatehouse task create</code> or the admin API; the secret is shown once).</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Client id</th>
            <th scope="col">Tools</th>
            <th scope="col">Token TTL</th>
            <th scope="col">Expires</th>
            <th scope="col">Last use</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {p.tasks.map((t) => {
            const ended = t.expires_at !== null && t.expires_at <= p.now;
            return (
              <tr data-task={t.client_id}>
                <td>{t.client_name ?? t.principal_id}</td>
                <td>
                  <code>{t.client_id}</code>
                </td>
                <td>{t.tools ? (JSON.parse(t.tools) as string[]).join(", ") : ""}</td>
                <td>{t.token_ttl ? `${t.token_ttl} s` : ""}</td>
                <td>{ended ? `ended ${iso(t.expires_at)}` : iso(t.expires_at)}</td>
                <td>{iso(t.last_used_at)}</td>
                <td>{ended ? "" : <Revoke csrf={p.user.csrf} kind="client" value={t.client_id} label={`Revoke task client ${t.client_name ?? t.client_id}`} />}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {p.tasks.length === 0 && <p>No task clients.</p>}
    </Layout>
  );
}
