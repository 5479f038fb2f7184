/** @jsxImportSource hono/jsx */
import type { ConsoleUser } from "./auth";
import { type Flash, FlashLine, Layout } from "./pages";

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

export interface TaskFormData {
  tasks: string[];
  tools: Array<{ name: string; kind: string }>;
}

function Rotate(p: { csrf: string; clientId: string; label: string }) {
  return (
    <form method="post" action="/console/sessions/rotate">
      <input type="hidden" name="csrf" value={p.csrf} />
      <input type="hidden" name="client_id" value={p.clientId} />
      <button type="submit" aria-label={p.label}>
        Rotate secret
      </button>
    </form>
  );
}

/** A new task client's (or a rotated) secret: shown here once, never stored in clear nor shown again. */
export function SecretPage(p: { nonce: string; user: ConsoleUser; title: string; clientId: string; secret: string; detail: string; proposalId?: string }) {
  return (
    <Layout title={p.title} nonce={p.nonce} user={p.user}>
      <h1>{p.title}</h1>
      <p class="notice" role="status">
        Copy the secret now: it is shown only on this page, and Gatehouse keeps only its hash.
      </p>
      <table>
        <tbody>
          <tr>
            <th scope="row">Client id</th>
            <td>
              <code data-client-id>{p.clientId}</code>
            </td>
          </tr>
          <tr>
            <th scope="row">Client secret</th>
            <td>
              <code data-client-secret>{p.secret}</code>
            </td>
          </tr>
          <tr>
            <th scope="row">Details</th>
            <td>{p.detail}</td>
          </tr>
        </tbody>
      </table>
      {p.proposalId && (
        <p class="notice" data-proposal={p.proposalId}>
          It may call a write tool, so it is held for a second admin: the secret works once another admin approves{" "}
          <a href={`/console/proposals/${p.proposalId}`}>proposal {p.proposalId.slice(0, 8)}</a>.
        </p>
      )}
      <p>
        <a href="/console/sessions">← Sessions and credentials</a>
      </p>
    </Layout>
  );
}

export function SessionsPage(p: { nonce: string; user: ConsoleUser; sessions: SessionListRow[]; tasks: TaskListRow[]; form: TaskFormData; now: number; flash?: Flash }) {
  return (
    <Layout title="Sessions and credentials" nonce={p.nonce} user={p.user}>
      <h1>Sessions and credentials</h1>
      <FlashLine flash={p.flash} />
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
      <p class="muted">
        Automations with client credentials (also <code>gatehouse task create</code>; the secret is shown once).
      </p>
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
                <td>
                  {ended ? (
                    ""
                  ) : (
                    <div class="actions">
                      <Rotate csrf={p.user.csrf} clientId={t.client_id} label={`Rotate secret of task client ${t.client_name ?? t.client_id}`} />
                      <Revoke csrf={p.user.csrf} kind="client" value={t.client_id} label={`Revoke task client ${t.client_name ?? t.client_id}`} />
                    </div>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {p.tasks.length === 0 && <p>No task clients.</p>}
      <h2>Create a task client</h2>
      {p.form.tasks.length === 0 ? (
        <p>The policy names no tasks.</p>
      ) : (
        <form method="post" action="/console/sessions/tasks">
          <input type="hidden" name="csrf" value={p.user.csrf} />
          <div class="filters">
            <div class="field">
              <label for="task-id">Task</label>
              <select id="task-id" name="task" required>
                {p.form.tasks.map((t) => (
                  <option value={t}>{t}</option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="task-name">Name</label>
              <input id="task-name" name="name" maxlength={200} />
            </div>
            <div class="field">
              <label for="task-ttl">Token lifetime (s)</label>
              <input id="task-ttl" name="ttl_seconds" type="number" min={60} max={900} value="600" />
            </div>
            <div class="field">
              <label for="task-expires">Client expires</label>
              <input id="task-expires" name="expires_at" type="date" />
            </div>
          </div>
          <fieldset>
            <legend>Tools (the policy must grant each to the task; a write tool needs a second admin's approval)</legend>
            {p.form.tools.map((t) => (
              <label class="check">
                <input type="checkbox" name="tools" value={t.name} /> {t.name} <span class="muted">({t.kind})</span>
              </label>
            ))}
          </fieldset>
          <p>
            <button class="primary" type="submit">
              Create task client
            </button>
          </p>
        </form>
      )}
    </Layout>
  );
}
