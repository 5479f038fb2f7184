/** Filters of the audit query API (docs/audit.md): each maps to one indexed or simple column condition. */
export const AUDIT_FILTERS = {
  principal: "principal = ?",
  client: "client_id = ?",
  tool: "tool = ?",
  outcome: "outcome = ?",
  event: "event = ?",
  session: "session_id = ?",
  jti: "token_jti = ?",
  /** A dynamic credential's per-token Postgres login (gh_…), as Postgres' logs and views name it. */
  login: "db_login = ?",
  workspace: "workspace = ?",
  from: "time >= ?",
  to: "time < ?",
} as const;

export interface AuditQuery {
  where: string;
  params: unknown[];
  limit: number;
  after: number;
}

/** Builds a parameterised query from URL parameters; unknown parameters are an error, never ignored. */
export function auditQuery(params: URLSearchParams, maxLimit: number): { ok: true; query: AuditQuery } | { ok: false; message: string } {
  const conditions: string[] = ["seq > ?"];
  const values: unknown[] = [];
  for (const key of new Set(params.keys())) {
    if (key === "after" || key === "limit" || key === "format") continue;
    if (!Object.hasOwn(AUDIT_FILTERS, key)) return { ok: false, message: `unknown filter "${key}"; filters: ${Object.keys(AUDIT_FILTERS).join(", ")}, after, limit` };
    // `workspace=` (empty) selects the rows that belong to no workspace.
    if (key === "workspace" && params.get(key) === "") {
      conditions.push("workspace IS NULL");
      continue;
    }
    conditions.push(AUDIT_FILTERS[key as keyof typeof AUDIT_FILTERS]);
    values.push(params.get(key));
  }
  const after = Number(params.get("after") ?? 0);
  const limit = Number(params.get("limit") ?? 100);
  if (!Number.isInteger(after) || after < 0) return { ok: false, message: "after must be a row sequence number" };
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) return { ok: false, message: `limit must be 1–${maxLimit}` };
  return { ok: true, query: { where: conditions.join(" AND "), params: [after, ...values], limit, after } };
}

const CSV_SAFE = /^[^",\r\n]*$/;

/** RFC 4180 CSV with a header row; cells that could start a spreadsheet formula are prefixed with a quote. */
export function toCsv(rows: Array<Record<string, unknown>>, columns: readonly string[]): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return "";
    let s = String(v);
    if (/^[=+\-@\t\r]/.test(s) && typeof v === "string") s = `'${s}`;
    return CSV_SAFE.test(s) ? s : `"${s.replace(/"/g, '""')}"`;
  };
  return `${[columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\r\n")}\r\n`;
}
