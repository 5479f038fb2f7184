/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { nowSeconds } from "../lib/clock";
import { overviewStatements } from "../audit/query-d1";
import { pendingApprovalCountStatement } from "../approvals/store-d1";
import { pendingProposalCountStatement } from "../admin/proposals-store-d1";
import type { ConsoleUser } from "./auth";
import { page } from "./guard";
import { Layout } from "./pages";

interface OverviewData {
  since: string;
  byOutcome: Array<{ outcome: string; n: number }>;
  pending: number;
  proposals: number;
  blocked: number;
  topTools: Array<{ tool: string; n: number }>;
  lastVerify: { time: string; outcome: string; detail: string | null; principal: string | null } | null;
}

/** Today (UTC) in the admin's workspace: calls by outcome, pending approvals, blocked calls, top tools, last chain check. */
export async function overview(c: Context<AppEnv>, user: ConsoleUser): Promise<Response> {
  const now = nowSeconds();
  const since = `${new Date(now * 1000).toISOString().slice(0, 10)}T00:00:00.000Z`;
  const ws = user.workspace;
  const audit = overviewStatements(c.env.DB, ws, since);
  const [outcomes, pending, tools, verify, proposals] = await c.env.DB.batch([
    audit.byOutcome,
    pendingApprovalCountStatement(c.env.DB, ws, now),
    audit.topTools,
    audit.lastVerify,
    pendingProposalCountStatement(c.env.DB, ws, now),
  ]);
  const byOutcome = (outcomes?.results ?? []) as OverviewData["byOutcome"];
  const data: OverviewData = {
    since,
    byOutcome,
    pending: ((pending?.results ?? []) as Array<{ n: number }>)[0]?.n ?? 0,
    proposals: ((proposals?.results ?? []) as Array<{ n: number }>)[0]?.n ?? 0,
    blocked: byOutcome.find((o) => o.outcome === "blocked")?.n ?? 0,
    topTools: (tools?.results ?? []) as OverviewData["topTools"],
    lastVerify: ((verify?.results ?? []) as Array<OverviewData["lastVerify"]>)[0] ?? null,
  };
  return page(c, 200, (n) => <OverviewPage nonce={n} user={user} d={data} />);
}

function OverviewPage(p: { nonce: string; user: ConsoleUser; d: OverviewData }) {
  const d = p.d;
  const total = d.byOutcome.reduce((s, o) => s + o.n, 0);
  return (
    <Layout title="Overview" nonce={p.nonce} user={p.user}>
      <h1>Overview</h1>
      <p class="muted">
        Workspace {p.user.workspace}, since {d.since.slice(0, 10)} 00:00 UTC.
      </p>
      <table data-overview>
        <tbody>
          <tr>
            <th scope="row">Calls today</th>
            <td data-calls={String(total)}>
              {total}
              {d.byOutcome.length > 0 && ` (${d.byOutcome.map((o) => `${o.outcome} ${o.n}`).join(", ")})`}
            </td>
          </tr>
          <tr>
            <th scope="row">Pending approvals</th>
            <td>
              <a href="/console/approvals">{d.pending}</a>
            </td>
          </tr>
          <tr>
            <th scope="row">Proposals waiting for a second admin</th>
            <td>
              <a href="/console/proposals">{d.proposals}</a>
            </td>
          </tr>
          <tr>
            <th scope="row">Blocked calls today</th>
            <td>
              <a href="/console/audit?outcome=blocked">{d.blocked}</a>
            </td>
          </tr>
          <tr>
            <th scope="row">Top tools today</th>
            <td>{d.topTools.length ? d.topTools.map((t) => `${t.tool} (${t.n})`).join(", ") : "none"}</td>
          </tr>
          <tr>
            <th scope="row">Last chain verification</th>
            <td>
              {d.lastVerify
                ? `${d.lastVerify.time}: ${d.lastVerify.outcome === "ok" ? "intact" : "BROKEN"}${d.lastVerify.detail ? ` (${d.lastVerify.detail})` : ""} by ${d.lastVerify.principal ?? "?"}`
                : "never from the console"}
            </td>
          </tr>
        </tbody>
      </table>
      <p>
        <a href="/console/audit">Audit explorer</a> · <a href="/console/sessions">Sessions and credentials</a> · <a href="/console/policy">Policy</a>
      </p>
    </Layout>
  );
}
