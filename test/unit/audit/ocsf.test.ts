import { describe, expect, it } from "vitest";
import { API_ACTIVITY, AUTHENTICATION, AUTHORIZE_SESSION, toOcsf } from "../../../src/audit/ocsf";

// Required attributes of OCSF 1.3.0 (schema.ocsf.io, github.com/ocsf/ocsf-schema events/ and objects/), the version
// the export declares in metadata.version:
// - base event (every class): activity_id, category_uid, class_uid, metadata, severity_id, time, type_uid;
//   metadata: product, version; product: vendor_name;
// - API Activity (6003): actor, api, src_endpoint; api: operation; actor: at least one of user, session, app_name,
//   process, invoked_by; src_endpoint (network endpoint): at least one of ip, uid, name, hostname;
// - Authentication (3002): user; at least one of service, dst_endpoint;
// - Authorize Session (3003): user; at least one of privileges, groups;
// - user: at least one of uid, name, account.
const BASE = ["activity_id", "category_uid", "class_uid", "metadata", "severity_id", "time", "type_uid"];
const REQUIRED: Record<number, { all: string[]; oneOf: string[][] }> = {
  [API_ACTIVITY]: {
    all: [...BASE, "actor", "api", "src_endpoint", "api.operation", "metadata.product.vendor_name", "metadata.version"],
    oneOf: [
      ["actor.user", "actor.session", "actor.app_name", "actor.process", "actor.invoked_by"],
      ["src_endpoint.ip", "src_endpoint.uid", "src_endpoint.name", "src_endpoint.hostname"],
      ["actor.user.uid", "actor.user.name", "actor.user.account"],
    ],
  },
  [AUTHENTICATION]: {
    all: [...BASE, "user", "metadata.product.vendor_name", "metadata.version"],
    oneOf: [
      ["service", "dst_endpoint"],
      ["user.uid", "user.name", "user.account"],
    ],
  },
  [AUTHORIZE_SESSION]: {
    all: [...BASE, "user", "metadata.product.vendor_name", "metadata.version"],
    oneOf: [
      ["privileges", "groups"],
      ["user.uid", "user.name", "user.account"],
    ],
  },
};

const at = (o: unknown, path: string): unknown => path.split(".").reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), o);
const present = (v: unknown) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);

const row = (over: Record<string, unknown>): Record<string, unknown> => ({
  seq: 7,
  id: "r7",
  time: "2026-11-29T10:00:00.000Z",
  request_id: "q1",
  principal: "user:wes@example.com",
  principal_kind: "user",
  client_id: "gatehouse-dev",
  ip: "127.0.0.1",
  user_agent: "curl/8",
  session_id: "s1",
  workspace: "demo",
  rule: null,
  ...over,
});

const rows = [
  row({ event: "tool.call", outcome: "ok", tool: "my_opportunities", sql_text: "SELECT 1", params: '{"stage":"proposal"}' }),
  row({ event: "tool.call", outcome: "blocked", tool: "corpus_sql", rule: "guard:function_denied", sql_text: "SELECT pg_sleep(1)" }),
  row({ event: "tool.call", outcome: "ok", tool: "update_stage", sql_text: "UPDATE crm.opportunities SET stage = $1" }),
  row({ event: "tools.list", outcome: "ok" }),
  row({ event: "mcp.request", outcome: "denied", rule: "token:missing", principal: null, principal_kind: null, ip: null, session_id: null }),
  row({ event: "policy.applied", outcome: "ok", principal: "user:admin@example.com" }),
  row({ event: "token.issued", outcome: "ok" }),
  row({ event: "token.refused", outcome: "denied", rule: "invalid_client", principal: null, principal_kind: null }),
  row({ event: "console.sign_out", outcome: "ok" }),
  row({ event: "oauth.consent", outcome: "ok", detail: "db:read db:sql" }),
  row({ event: "oauth.consent", outcome: "denied", rule: "user_denied" }),
  row({ event: "token.issued", outcome: "ok", principal: "task:nightly-revenue-report", principal_kind: "task" }),
];

describe("audit rows as OCSF 1.3.0 events", () => {
  it("fills every required attribute of its class, for every kind of row", () => {
    for (const r of rows) {
      const e = toOcsf(r);
      const req = REQUIRED[e.class_uid as number]!;
      expect(req, String(r.event)).toBeDefined();
      for (const path of req.all) expect(present(at(e, path)), `${String(r.event)}/${String(r.outcome)}: ${path}`).toBe(true);
      for (const group of req.oneOf)
        expect(
          group.some((p) => present(at(e, p))),
          `${String(r.event)}: one of ${group.join(", ")}`,
        ).toBe(true);
      expect(e.type_uid).toBe((e.class_uid as number) * 100 + (e.activity_id as number));
      expect(e.category_uid).toBe(Math.floor((e.class_uid as number) / 1000));
      expect(typeof e.time).toBe("number");
    }
  });

  it("maps events to the class and activity they are", () => {
    const m = (r: Record<string, unknown>) => [toOcsf(r).class_uid, toOcsf(r).activity_id, toOcsf(r).status_id];
    expect(rows.map(m)).toEqual([
      [API_ACTIVITY, 2, 1],
      [API_ACTIVITY, 2, 2],
      [API_ACTIVITY, 3, 1],
      [API_ACTIVITY, 2, 1],
      [API_ACTIVITY, 2, 2],
      [API_ACTIVITY, 3, 1],
      [AUTHENTICATION, 1, 1],
      [AUTHENTICATION, 1, 2],
      [AUTHENTICATION, 2, 1],
      [AUTHORIZE_SESSION, 1, 1],
      [AUTHORIZE_SESSION, 1, 2],
      [AUTHENTICATION, 1, 1],
    ]);
    expect(toOcsf(rows[9]!).privileges).toEqual(["db:read", "db:sql"]);
    expect(toOcsf(rows[0]!)).toMatchObject({
      api: { operation: "tools/call", service: { name: "my_opportunities" } },
      metadata: { uid: "r7", sequence: 7, tenant_uid: "demo", version: "1.3.0" },
      unmapped: { params: '{"stage":"proposal"}' },
    });
  });
});
