/** @jsxImportSource hono/jsx */
import type { ProposalRow } from "../admin/proposals-store-d1";
import type { ProposalSummary } from "../admin/proposals";
import type { TaskClientSpec } from "../admin/tasks";
import { proposalState } from "../admin/two-person";
import type { ConsoleUser } from "./auth";
import { type Flash, FlashLine, Layout } from "./pages";
import { timeLeft } from "./session";

const iso = (t: number | null) => (t === null ? "" : new Date(t * 1000).toISOString().replace(".000Z", "Z"));
const summaryOf = (p: ProposalRow) => JSON.parse(p.summary) as ProposalSummary;
const KIND = { policy: "Policy apply", task: "Task client" } as const;

export function ProposalsPage(p: { nonce: string; user: ConsoleUser; proposals: ProposalRow[]; now: number }) {
  const pending = p.proposals.filter((x) => proposalState(x, p.now) === "pending");
  const decided = p.proposals.filter((x) => proposalState(x, p.now) !== "pending");
  return (
    <Layout title="Proposals" nonce={p.nonce} user={p.user}>
      <h1>Proposals</h1>
      <p class="muted">
        Admin operations that widen write access wait here until a second admin of workspace {p.user.workspace} approves them (the two-person rule). The admin who proposed one can never approve it.
      </p>
      <h2>Pending</h2>
      {pending.length === 0 ? (
        <p>Nothing is waiting for a second admin.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Proposal</th>
              <th scope="col">Kind</th>
              <th scope="col">Proposed by</th>
              <th scope="col">Why it is held</th>
              <th scope="col">Time left</th>
            </tr>
          </thead>
          <tbody>
            {pending.map((x) => (
              <tr data-proposal={x.id}>
                <td>
                  <a href={`/console/proposals/${x.id}`}>Review {x.id.slice(0, 8)}</a>
                </td>
                <td>{KIND[x.kind]}</td>
                <td>{x.proposer}</td>
                <td>{summaryOf(x).reasons.join("; ")}</td>
                <td>
                  <time datetime={iso(x.expires_at)}>{timeLeft(x.expires_at, p.now)}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Decided</h2>
      {decided.length === 0 ? (
        <p>No decided proposals yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Proposal</th>
              <th scope="col">Kind</th>
              <th scope="col">Proposed by</th>
              <th scope="col">State</th>
              <th scope="col">Decided by</th>
              <th scope="col">Reason</th>
              <th scope="col">Decided</th>
            </tr>
          </thead>
          <tbody>
            {decided.map((x) => (
              <tr data-proposal={x.id}>
                <td>
                  <a href={`/console/proposals/${x.id}`}>{x.id.slice(0, 8)}</a>
                </td>
                <td>{KIND[x.kind]}</td>
                <td>{x.proposer}</td>
                <td class="status">{proposalState(x, p.now)}</td>
                <td>{x.decided_by ?? ""}</td>
                <td>{x.reason ?? ""}</td>
                <td>{iso(x.decided_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

export function ProposalPage(p: { nonce: string; user: ConsoleUser; proposal: ProposalRow; document: string | null; headVersion: number; now: number; flash?: Flash | undefined }) {
  const x = p.proposal;
  const state = proposalState(x, p.now);
  const summary = summaryOf(x);
  const own = x.proposer === p.user.principal;
  const task = x.kind === "task" ? (JSON.parse(x.payload) as TaskClientSpec) : null;
  const stale = state === "pending" && p.headVersion !== x.base_version;
  return (
    <Layout title={`Proposal ${x.id.slice(0, 8)}`} nonce={p.nonce} user={p.user}>
      <p>
        <a href="/console/proposals">← All proposals</a>
      </p>
      <h1>
        {KIND[x.kind]} proposed by {x.proposer}
      </h1>
      <FlashLine flash={p.flash} />
      <table>
        <tbody>
          <tr>
            <th scope="row">State</th>
            <td class="status" data-state={state}>
              {state}
              {state === "pending" && <> · {timeLeft(x.expires_at, p.now)} left</>}
            </td>
          </tr>
          <tr>
            <th scope="row">Proposal id</th>
            <td>
              <code>{x.id}</code>
            </td>
          </tr>
          <tr>
            <th scope="row">Computed on policy version</th>
            <td>
              {x.base_version}
              {stale && <span class="muted"> (the policy is now at version {p.headVersion}: this proposal can no longer be applied)</span>}
            </td>
          </tr>
          <tr>
            <th scope="row">Payload SHA-256</th>
            <td>
              <code data-payload-hash>{x.payload_hash}</code>
            </td>
          </tr>
          <tr>
            <th scope="row">Proposed</th>
            <td>{iso(x.created_at)}</td>
          </tr>
          <tr>
            <th scope="row">Expires</th>
            <td>{iso(x.expires_at)}</td>
          </tr>
          {x.decided_by && (
            <tr>
              <th scope="row">Decided by</th>
              <td>
                {x.decided_by} at {iso(x.decided_at)}
                {x.reason && <>: {x.reason}</>}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <h2>Why it needs a second admin</h2>
      <ul data-reasons>
        {summary.reasons.map((r) => (
          <li>{r}</li>
        ))}
      </ul>
      <h2>What it changes</h2>
      <ul data-diff>
        {summary.changes.map((ch) => (
          <li>
            <code>{ch}</code>
          </li>
        ))}
      </ul>
      {task && (
        <table>
          <caption class="muted">The task client it creates (its secret was shown once to the proposer; only its hash is kept).</caption>
          <tbody>
            <tr>
              <th scope="row">Client id</th>
              <td>
                <code>{task.clientId}</code>
              </td>
            </tr>
            <tr>
              <th scope="row">Task</th>
              <td>{task.principal}</td>
            </tr>
            <tr>
              <th scope="row">Tools</th>
              <td>{task.tools.join(", ")}</td>
            </tr>
            <tr>
              <th scope="row">Token lifetime</th>
              <td>{task.ttl} s</td>
            </tr>
            <tr>
              <th scope="row">Client expires</th>
              <td>{iso(task.expiresAt)}</td>
            </tr>
          </tbody>
        </table>
      )}
      {p.document !== null && (
        <details>
          <summary>The policy document exactly as it would be applied</summary>
          <pre data-document>
            <code>{p.document}</code>
          </pre>
        </details>
      )}
      {state === "pending" &&
        (own ? (
          <>
            <p class="notice">You proposed this change: another admin must approve it. You can withdraw it.</p>
            <form method="post" action={`/console/proposals/${x.id}/deny`}>
              <input type="hidden" name="csrf" value={p.user.csrf} />
              <input type="hidden" name="reason" value="withdrawn by the proposer" />
              <button type="submit">Withdraw</button>
            </form>
          </>
        ) : (
          <div class="actions">
            <form method="post" action={`/console/proposals/${x.id}/approve`}>
              <input type="hidden" name="csrf" value={p.user.csrf} />
              <button class="primary" type="submit">
                Approve and apply
              </button>
            </form>
            <form method="post" action={`/console/proposals/${x.id}/deny`}>
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
