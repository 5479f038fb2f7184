/**
 * Audit rows as OCSF events (Open Cybersecurity Schema Framework 1.3.0), for `gatehouse audit export --format ocsf`
 * (docs/audit.md "SIEM export"): sign-ins and tokens as Authentication (3002), consents as Authorize Session (3003),
 * everything else — tool calls, listings, approvals, policy and client changes — as API Activity (6003). Gatehouse's
 * own columns that OCSF has no attribute for go to `unmapped`, so nothing in the row is lost.
 */

export const OCSF_VERSION = "1.3.0";

export const API_ACTIVITY = 6003;
export const AUTHENTICATION = 3002;
export const AUTHORIZE_SESSION = 3003;

type Row = Record<string, unknown>;

const s = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** OCSF `user`: the principal (`user:<email>` or `task:<id>`); uid always, name and type where known. */
function user(row: Row): Record<string, unknown> {
  const principal = s(row.principal);
  if (!principal) return { uid: "unknown", type_id: 0, type: "Unknown" };
  const kind = s(row.principal_kind);
  const name = principal.includes(":") ? principal.slice(principal.indexOf(":") + 1) : principal;
  return {
    uid: principal,
    name,
    ...(kind === "user" ? { type_id: 1, type: "User", email_addr: name } : kind === "task" ? { type_id: 99, type: "Service" } : { type_id: 0, type: "Unknown" }),
  };
}

const AUTH_EVENTS: Record<string, number> = {
  "token.issued": 1,
  "token.refreshed": 1,
  "token.refused": 1,
  "oauth.login": 1,
  "console.sign_in": 1,
  "console.sign_out": 2,
};
const AUTHZ_EVENTS = new Set(["oauth.consent"]);

/** API Activity's activity: what the call did (a tool's SQL operation, a create or a revocation), else Other. */
function apiActivity(row: Row): { id: number; name: string } {
  const event = String(row.event);
  const sql = (s(row.sql_text) ?? "").trimStart().slice(0, 16).toUpperCase();
  if (event.startsWith("tool.call")) {
    if (sql.startsWith("INSERT")) return { id: 1, name: "Create" };
    if (sql.startsWith("UPDATE")) return { id: 3, name: "Update" };
    if (sql.startsWith("DELETE")) return { id: 4, name: "Delete" };
    return { id: 2, name: "Read" };
  }
  if (event === "tools.list" || event === "mcp.request" || event === "audit.verify" || event === "console.access") return { id: 2, name: "Read" };
  if (event === "client.registered" || event === "client.created" || event === "approval.requested" || event === "proposal.created") return { id: 1, name: "Create" };
  if (event === "policy.applied" || event === "client.rotated" || event.startsWith("proposal.")) return { id: 3, name: "Update" };
  if (event === "revocation" || event === "revocation.database" || event === "token.revoked") return { id: 4, name: "Delete" };
  return { id: 99, name: "Other" };
}

const UNMAPPED = [
  "outcome",
  "rule",
  "workspace",
  "tool",
  "tool_version",
  "db_role",
  "db_login",
  "sql_text",
  "sql_hash",
  "param_count",
  "params",
  "rows",
  "bytes",
  "truncated",
  "duration_ms",
  "db_ms",
  "sqlstate",
  "approval_id",
  "detail",
  "trace_id",
  "token_jti",
  "colo",
  "seq",
  "prev_hash",
  "hash",
] as const;

/** One audit row (as the export returns it) as one OCSF event. */
export function toOcsf(row: Row): Record<string, unknown> {
  const event = String(row.event ?? "");
  const outcome = String(row.outcome ?? "");
  const ok = outcome === "ok" || outcome === "started" || outcome === "pending_approval";
  const classUid = event in AUTH_EVENTS ? AUTHENTICATION : AUTHZ_EVENTS.has(event) ? AUTHORIZE_SESSION : API_ACTIVITY;
  const activity =
    classUid === AUTHENTICATION
      ? { id: AUTH_EVENTS[event]!, name: AUTH_EVENTS[event] === 2 ? "Logoff" : "Logon" }
      : classUid === AUTHORIZE_SESSION
        ? { id: 1, name: "Assign Privileges" }
        : apiActivity(row);
  const time = Date.parse(String(row.time));
  const src = { ...(s(row.ip) ? { ip: s(row.ip) } : { name: "unknown" }) };
  const session = s(row.session_id) ? { session: { uid: s(row.session_id) } } : {};
  const unmapped = Object.fromEntries(UNMAPPED.filter((k) => row[k] !== null && row[k] !== undefined).map((k) => [k, row[k]]));
  const base = {
    class_uid: classUid,
    category_uid: Math.floor(classUid / 1000),
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: classUid * 100 + activity.id,
    time: Number.isFinite(time) ? time : 0,
    severity_id: ok ? 1 : outcome === "error" ? 3 : 2,
    status_id: ok ? 1 : 2,
    status: ok ? "Success" : "Failure",
    ...(s(row.rule) ? { status_detail: s(row.rule) } : {}),
    message: `${event} ${outcome}${s(row.tool) ? ` ${s(row.tool)}` : ""}`,
    metadata: {
      version: OCSF_VERSION,
      product: { name: "Gatehouse", vendor_name: "Gatehouse" },
      uid: s(row.id),
      ...(s(row.request_id) ? { correlation_uid: s(row.request_id) } : {}),
      original_time: String(row.time),
      log_name: "audit",
      ...(typeof row.seq === "number" ? { sequence: row.seq } : {}),
      ...(s(row.workspace) ? { tenant_uid: s(row.workspace) } : {}),
    },
    src_endpoint: src,
    ...(s(row.user_agent) ? { http_request: { user_agent: s(row.user_agent) } } : {}),
    unmapped,
  };
  if (classUid === AUTHENTICATION) {
    return { ...base, user: user(row), service: { name: "Gatehouse", ...(s(row.client_id) ? { uid: s(row.client_id) } : {}) }, auth_protocol_id: 6, auth_protocol: "OAUTH 2.0", ...session };
  }
  if (classUid === AUTHORIZE_SESSION) {
    const privileges = ok && s(row.detail) ? String(row.detail).split(/\s+/).filter(Boolean) : [`denied${s(row.rule) ? `:${s(row.rule)}` : ""}`];
    return { ...base, user: user(row), privileges, ...session };
  }
  return {
    ...base,
    actor: { user: user(row), ...(s(row.client_id) ? { app_name: s(row.client_id) } : {}), ...session },
    api: {
      operation: event.startsWith("tool.call") ? "tools/call" : event,
      ...(s(row.tool) ? { service: { name: s(row.tool) } } : {}),
      ...(s(row.request_id) ? { request: { uid: s(row.request_id) } } : {}),
    },
  };
}
