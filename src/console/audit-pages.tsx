/** @jsxImportSource hono/jsx */
import type { ChainVerdict } from "../audit/chain";
import type { ConsoleUser } from "./auth";
import { CHART_BUCKETS, OUTCOMES, filterQuery, type Bucket, type Filters } from "./audit-view";
import { Layout } from "./pages";

const COLORS: Record<string, string> = {
  ok: "#2b8a3e",
  error: "#c92a2a",
  denied: "#d9480f",
  blocked: "#862e9c",
  pending_approval: "#1864ab",
  rate_limited: "#e67700",
  invalid_arguments: "#5c940d",
  started: "#495057",
};

const W = 720;
const H = 220;
const PAD = { left: 40, right: 10, top: 10, bottom: 30 };

/** Calls over time stacked by outcome: an SVG rendered on the server (no script, no chart library). */
export function Chart(p: { buckets: Bucket[]; title: string }) {
  const totals = p.buckets.map((b) => Object.values(b.counts).reduce((s: number, n) => s + (n ?? 0), 0));
  const max = Math.max(1, ...totals);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const barW = plotW / CHART_BUCKETS;
  const y = (n: number) => (n / max) * plotH;
  const label = (ms: number) => new Date(ms).toISOString().slice(5, 16).replace("T", " ");
  const sum = totals.reduce((s, n) => s + n, 0);
  const byOutcome = OUTCOMES.map((o) => [o, p.buckets.reduce((s, b) => s + (b.counts[o] ?? 0), 0)] as const).filter(([, n]) => n > 0);
  return (
    <figure>
      <svg role="img" aria-labelledby="chart-title chart-desc" viewBox={`0 0 ${W} ${H}`} width="100%" data-chart data-total={String(sum)}>
        <title id="chart-title">{p.title}</title>
        <desc id="chart-desc">{`${sum} in total: ${byOutcome.map(([o, n]) => `${o} ${n}`).join(", ") || "none"}.`}</desc>
        <line x1={PAD.left} y1={PAD.top + plotH} x2={W - PAD.right} y2={PAD.top + plotH} stroke="#868e96" />
        <text x={PAD.left - 6} y={PAD.top + 10} text-anchor="end" font-size="11" fill="#1b1f24">
          {max}
        </text>
        <text x={PAD.left - 6} y={PAD.top + plotH} text-anchor="end" font-size="11" fill="#1b1f24">
          0
        </text>
        {p.buckets.map((b, i) => {
          let base = PAD.top + plotH;
          return OUTCOMES.filter((o) => (b.counts[o] ?? 0) > 0).map((o) => {
            const h = y(b.counts[o]!);
            base -= h;
            return (
              <rect x={PAD.left + i * barW + 1} y={base} width={Math.max(1, barW - 2)} height={h} fill={COLORS[o]} data-outcome={o} data-count={String(b.counts[o])}>
                <title>{`${label(b.startMs)} UTC: ${b.counts[o]} ${o}`}</title>
              </rect>
            );
          });
        })}
        {[0, Math.floor(CHART_BUCKETS / 2), CHART_BUCKETS - 1].map((i) => (
          <text x={i === CHART_BUCKETS - 1 ? W - PAD.right : PAD.left + i * barW} y={H - 8} font-size="11" fill="#1b1f24" text-anchor={i === CHART_BUCKETS - 1 ? "end" : "start"}>
            {label(p.buckets[i]!.startMs)}
          </text>
        ))}
      </svg>
      <figcaption>
        <ul class="legend">
          {byOutcome.map(([o, n]) => (
            <li>
              <svg width="12" height="12" aria-hidden="true">
                <rect width="12" height="12" fill={COLORS[o]} />
              </svg>{" "}
              {o}: {n}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

export interface AuditListRow {
  seq: number;
  time: string;
  event: string;
  outcome: string;
  rule: string | null;
  principal: string | null;
  client_id: string | null;
  tool: string | null;
}

function FilterField(p: { name: keyof Filters; label: string; value: string | undefined; type?: string; list?: readonly string[] }) {
  const id = `f-${p.name}`;
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      {p.list ? (
        <select id={id} name={p.name}>
          <option value="">any</option>
          {p.list.map((o) => (
            <option value={o} selected={p.value === o}>
              {o}
            </option>
          ))}
        </select>
      ) : (
        <input id={id} name={p.name} type={p.type ?? "text"} value={p.type === "datetime-local" && p.value ? p.value.slice(0, 16) : (p.value ?? "")} />
      )}
    </div>
  );
}

export function AuditPage(p: {
  nonce: string;
  user: ConsoleUser;
  filters: Filters;
  rows: AuditListRow[];
  next: number | null;
  buckets: Bucket[];
  chartTitle: string;
  anchor: { seq: number; sealed_at: string } | null;
  verdict?: ChainVerdict;
  error?: string;
}) {
  const f = p.filters;
  return (
    <Layout title="Audit" nonce={p.nonce} user={p.user}>
      <h1>Audit</h1>
      {p.error && (
        <p class="error" role="alert">
          {p.error}
        </p>
      )}
      <form method="get" action="/console/audit" class="filters">
        <FilterField name="principal" label="Principal" value={f.principal} />
        <FilterField name="client" label="Client id" value={f.client} />
        <FilterField name="tool" label="Tool" value={f.tool} />
        <FilterField name="outcome" label="Outcome" value={f.outcome} list={OUTCOMES} />
        <FilterField name="event" label="Event" value={f.event} />
        <FilterField name="from" label="From (UTC)" value={f.from} type="datetime-local" />
        <FilterField name="to" label="To (UTC)" value={f.to} type="datetime-local" />
        <div class="field">
          <button class="primary" type="submit">
            Filter
          </button>
        </div>
      </form>
      <h2>{p.chartTitle}</h2>
      <Chart buckets={p.buckets} title={p.chartTitle} />
      <h2>Chain</h2>
      <p data-chain>
        {p.verdict ? (
          p.verdict.ok ? (
            <strong data-verdict="intact">
              Intact: {p.verdict.rows} rows verified{p.verdict.head ? `, head ${p.verdict.head.seq}` : ""}.
            </strong>
          ) : (
            <strong data-verdict="broken">
              Broken at row {p.verdict.seq}: {p.verdict.reason}.
            </strong>
          )
        ) : p.anchor ? (
          <>
            Last sealed at row {p.anchor.seq}, {p.anchor.sealed_at}.
          </>
        ) : (
          <>Not sealed yet.</>
        )}
      </p>
      <form method="post" action="/console/audit/verify">
        <input type="hidden" name="csrf" value={p.user.csrf} />
        <button type="submit">Verify the chain</button>
      </form>
      <h2>Events</h2>
      <p>
        Export this view: <a href={`/console/audit/export${filterQuery(f, { format: "jsonl" })}`}>JSONL</a> · <a href={`/console/audit/export${filterQuery(f, { format: "csv" })}`}>CSV</a>
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Row</th>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Event</th>
            <th scope="col">Outcome</th>
            <th scope="col">Rule</th>
            <th scope="col">Principal</th>
            <th scope="col">Client</th>
            <th scope="col">Tool</th>
          </tr>
        </thead>
        <tbody>
          {p.rows.map((r) => (
            <tr data-seq={String(r.seq)}>
              <td>
                <a href={`/console/audit/${r.seq}`}>{r.seq}</a>
              </td>
              <td>{r.time}</td>
              <td>{r.event}</td>
              <td>{r.outcome}</td>
              <td>{r.rule ?? ""}</td>
              <td>{r.principal ?? ""}</td>
              <td>{r.client_id ?? ""}</td>
              <td>{r.tool ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.rows.length === 0 && <p>No events match.</p>}
      {p.next !== null && (
        <p>
          <a href={`/console/audit${filterQuery(f, { before: String(p.next) })}`} rel="next">
            Older events
          </a>
        </p>
      )}
    </Layout>
  );
}

export function AuditRowPage(p: { nonce: string; user: ConsoleUser; row: Record<string, unknown> }) {
  return (
    <Layout title={`Audit row ${String(p.row.seq)}`} nonce={p.nonce} user={p.user}>
      <p>
        <a href="/console/audit">← Audit</a>
      </p>
      <h1>Audit row {String(p.row.seq)}</h1>
      <table>
        <tbody>
          {Object.entries(p.row).map(([k, v]) => (
            <tr>
              <th scope="row">{k}</th>
              <td>
                <code>{v === null ? "" : String(v)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}
