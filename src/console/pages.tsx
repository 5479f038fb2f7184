/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import type { ApprovalRow } from "../approvals/store-d1";
import type { ConsoleUser } from "./auth";
import { timeLeft } from "./session";
import { showValue, sqlSegments } from "./sql-view";

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fff}
header{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;padding:.5rem 1.5rem;background:#14213d;color:#fff}
header a{color:#fff}header .brand{font-weight:700;margin-right:1rem}header nav{display:flex;gap:1rem;flex:1}
header form{margin:0}main{max-width:70rem;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #d0d5dc;padding:.4rem .5rem;text-align:left;vertical-align:top}th{background:#f1f3f5}
button{font:inherit;padding:.4rem .9rem;border-radius:6px;border:1px solid #2d3a4a;background:#f4f6f8;color:#1b1f24;cursor:pointer}
button.primary{background:#1f4fd1;color:#fff;border-color:#1f4fd1}button.danger{background:#a4161a;color:#fff;border-color:#a4161a}
header button{background:transparent;color:#fff;border-color:#fff}
.muted{color:#4d5562}code,pre{font-family:ui-monospace,monospace;background:#f1f3f5}pre{padding:.75rem;overflow:auto;white-space:pre-wrap}
.ph{background:#fff3bf;border:1px solid #b08900;border-radius:4px;padding:0 .2rem}.val{background:#d3f9d8;border:1px solid #2b8a3e;border-radius:4px;padding:0 .2rem;margin-left:.2rem}
.status{font-weight:600}.notice{border-left:4px solid #1f4fd1;background:#f4f7ff;padding:.5rem 1rem}.error{border-left:4px solid #a4161a;background:#fff5f5;padding:.5rem 1rem}
textarea{font:inherit;width:100%;max-width:40rem}label{display:block;font-weight:600;margin:.5rem 0 .25rem}.actions{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-end}
.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end}.field label{margin:0}.field input,.field select{font:inherit}
.legend{display:flex;gap:1rem;flex-wrap:wrap;list-style:none;padding:0}figure{margin:0}
label.check{font-weight:400;margin:.2rem 0}fieldset{border:1px solid #d0d5dc;border-radius:6px;margin:.75rem 0}details{margin:1rem 0}`;

export interface LayoutProps {
  title: string;
  nonce: string;
  user?: ConsoleUser;
  children: Child;
}

/** A one-line outcome shown above a page's content: a notice, or an error announced to screen readers. */
export type Flash = { kind: "notice" | "error"; text: string };

export function FlashLine(p: { flash?: Flash | undefined }) {
  return p.flash ? (
    <p class={p.flash.kind} role={p.flash.kind === "error" ? "alert" : "status"}>
      {p.flash.text}
    </p>
  ) : null;
}

export function Layout(p: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{p.title} · Gatehouse console</title>
        <style nonce={p.nonce}>{STYLE}</style>
      </head>
      <body>
        <header>
          <span class="brand">Gatehouse console</span>
          {p.user && (
            <>
              <nav aria-label="Console">
                {p.user.roles.admin && <a href="/console">Overview</a>}
                <a href="/console/approvals">Approvals</a>
                {p.user.roles.admin && <a href="/console/audit">Audit</a>}
                {p.user.roles.admin && <a href="/console/sessions">Sessions</a>}
                {p.user.roles.admin && <a href="/console/policy">Policy</a>}
                {p.user.roles.admin && <a href="/console/proposals">Proposals</a>}
              </nav>
              <span>
                {p.user.email ?? p.user.principal} · {p.user.workspace}
              </span>
              <form method="post" action="/console/logout">
                <input type="hidden" name="csrf" value={p.user.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </>
          )}
        </header>
        <main>{p.children}</main>
      </body>
    </html>
  );
}

export function MessagePage(p: { nonce: string; title: string; message: string; user?: ConsoleUser; signIn?: boolean }) {
  return (
    <Layout title={p.title} nonce={p.nonce} {...(p.user ? { user: p.user } : {})}>
      <h1>{p.title}</h1>
      <p>{p.message}</p>
      {p.signIn && (
        <p>
          <a href="/console/login">Sign in</a>
        </p>
      )}
    </Layout>
  );
}

const iso = (t: number | null) => (t === null ? "" : new Date(t * 1000).toISOString().replace(".000Z", "Z"));
const shortHash = (h: string) => h.slice(0, 12);

export function effectiveStatus(a: ApprovalRow, now: number): string {
  return a.status === "pending" && a.expires_at <= now ? "expired" : a.status;
}

/**
 * The inbox's one script (allowed by the page's nonce): reload every minute while the tab is visible and nothing is
 * being typed, so new requests and the time left stay current. Everything works without it.
 */
const REFRESH = `setInterval(function(){var a=document.activeElement;if(document.visibilityState==="visible"&&!(a&&/^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)))location.reload()},60000);`;

export function InboxPage(p: { nonce: string; user: ConsoleUser; pending: ApprovalRow[]; decided: ApprovalRow[]; clients: Map<string, string>; now: number; flash?: string }) {
  return (
    <Layout title="Approvals" nonce={p.nonce} user={p.user}>
      <script nonce={p.nonce} dangerouslySetInnerHTML={{ __html: REFRESH }} />
      <h1>Approvals</h1>
      {p.flash && (
        <p class="notice" role="status">
          {p.flash}
        </p>
      )}
      <p class="muted">
        Write requests waiting for a member of your approver groups ({p.user.groups.join(", ") || "none"}) in workspace {p.user.workspace}.
      </p>
      <h2>Pending</h2>
      {p.pending.length === 0 ? (
        <p>Nothing is waiting for you.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col">Requester</th>
              <th scope="col">Client</th>
              <th scope="col">Tool</th>
              <th scope="col">Tool version</th>
              <th scope="col">Time left</th>
            </tr>
          </thead>
          <tbody>
            {p.pending.map((a) => (
              <tr data-approval={a.id}>
                <td>
                  <a href={`/console/approvals/${a.id}`}>Review {a.id.slice(0, 8)}</a>
                </td>
                <td>{a.requester}</td>
                <td>{a.client_id ? (p.clients.get(a.client_id) ?? a.client_id) : ""}</td>
                <td>{a.tool}</td>
                <td>
                  <code>{shortHash(a.tool_version)}</code>
                </td>
                <td>
                  <time datetime={iso(a.expires_at)}>{timeLeft(a.expires_at, p.now)}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Decided</h2>
      {p.decided.length === 0 ? (
        <p>No decided requests yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col">Requester</th>
              <th scope="col">Tool</th>
              <th scope="col">Status</th>
              <th scope="col">Decided by</th>
              <th scope="col">Reason</th>
              <th scope="col">Decided</th>
            </tr>
          </thead>
          <tbody>
            {p.decided.map((a) => (
              <tr data-approval={a.id}>
                <td>
                  <a href={`/console/approvals/${a.id}`}>{a.id.slice(0, 8)}</a>
                </td>
                <td>{a.requester}</td>
                <td>{a.tool}</td>
                <td class="status">{effectiveStatus(a, p.now)}</td>
                <td>{a.decided_by ?? ""}</td>
                <td>{a.reason ?? ""}</td>
                <td>{iso(a.decided_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

export function DetailPage(p: { nonce: string; user: ConsoleUser; a: ApprovalRow; bind: string[] | null; clientName: string | null; now: number; flash?: Flash }) {
  const a = p.a;
  const args = JSON.parse(a.args) as Record<string, unknown>;
  const status = effectiveStatus(a, p.now);
  const own = a.requester === p.user.principal || a.on_behalf_of === p.user.principal;
  const segments = sqlSegments(a.sql_text, p.bind, args);
  return (
    <Layout title={`Approval ${a.id.slice(0, 8)}`} nonce={p.nonce} user={p.user}>
      <p>
        <a href="/console/approvals">← All approvals</a>
      </p>
      <h1>
        {a.tool} requested by {a.requester}
      </h1>
      <FlashLine flash={p.flash} />
      <table>
        <tbody>
          <tr>
            <th scope="row">Status</th>
            <td class="status" data-status={status}>
              {status}
              {status === "pending" && <> · {timeLeft(a.expires_at, p.now)} left</>}
            </td>
          </tr>
          <tr>
            <th scope="row">Request id</th>
            <td>
              <code>{a.id}</code>
            </td>
          </tr>
          <tr>
            <th scope="row">Client</th>
            <td>{p.clientName ?? a.client_id ?? ""}</td>
          </tr>
          <tr>
            <th scope="row">Tool version</th>
            <td>
              <code>{a.tool_version}</code>
              {p.bind === null && <span class="muted"> (the tool has changed since: this request can no longer run)</span>}
            </td>
          </tr>
          <tr>
            <th scope="row">Approver group</th>
            <td>{a.approver_group}</td>
          </tr>
          <tr>
            <th scope="row">Requested</th>
            <td>{iso(a.created_at)}</td>
          </tr>
          <tr>
            <th scope="row">Expires</th>
            <td>{iso(a.expires_at)}</td>
          </tr>
          <tr>
            <th scope="row">Argument hash (SHA-256)</th>
            <td>
              <code data-args-hash>{a.args_hash}</code>
            </td>
          </tr>
          {a.decided_by && (
            <tr>
              <th scope="row">Decided by</th>
              <td>
                {a.decided_by} at {iso(a.decided_at)}
                {a.reason && <>: {a.reason}</>}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <h2>Statement</h2>
      <p class="muted">The exact SQL that runs on the write credential, each placeholder with the value bound to it.</p>
      <pre data-sql>
        <code>
          {segments.map((s) =>
            "text" in s ? (
              s.text
            ) : (
              <>
                <span class="ph">{s.placeholder}</span>
                <span class="val" data-placeholder={s.placeholder}>
                  {s.bound ? showValue(s.value) : "?"}
                </span>
              </>
            ),
          )}
        </code>
      </pre>
      <table>
        <thead>
          <tr>
            <th scope="col">Placeholder</th>
            <th scope="col">Parameter</th>
            <th scope="col">Bound value</th>
          </tr>
        </thead>
        <tbody>
          {(p.bind ?? Object.keys(args)).map((name, i) => (
            <tr>
              <td>{p.bind ? <code>${i + 1}</code> : ""}</td>
              <td>{name}</td>
              <td>
                <code>{showValue(args[name])}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {status === "pending" &&
        (own ? (
          <p class="notice">You requested this change (or created the task that did): another approver must decide it.</p>
        ) : !p.user.groups.includes(a.approver_group) ? (
          <p class="notice">Only a member of {a.approver_group} can decide this request.</p>
        ) : (
          <div class="actions">
            <form method="post" action={`/console/approvals/${a.id}/approve`}>
              <input type="hidden" name="csrf" value={p.user.csrf} />
              <button class="primary" type="submit">
                Approve
              </button>
            </form>
            <form method="post" action={`/console/approvals/${a.id}/deny`}>
              <input type="hidden" name="csrf" value={p.user.csrf} />
              <label for="reason">Reason for denying</label>
              <textarea id="reason" name="reason" rows={2} maxlength={500} required></textarea>
              <button class="danger" type="submit">
                Deny
              </button>
            </form>
          </div>
        ))}
    </Layout>
  );
}
