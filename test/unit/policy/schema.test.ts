import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { Validator } from "@cfworker/json-schema";
import { validatePolicy } from "../../../src/policy/validate";
import { RATE_LIMITS } from "../../../src/policy/rate-limits";
import { TIERS } from "../../../src/policy/tiers";

/**
 * docs/policy.schema.json (for editors and reviewers) against src/policy/validate.ts (the source of truth): every
 * broken document below must be refused by both, so neither can loosen without a test failing. The known
 * differences (what JSON Schema cannot express, and where the schema is deliberately stricter) are pinned too.
 */
type Doc = Record<string, any>;

const ROOT = new URL("../../../", import.meta.url);
const SCHEMA_URL = new URL("docs/policy.schema.json", ROOT);
const schema = JSON.parse(readFileSync(SCHEMA_URL, "utf8")) as Doc;
const validator = new Validator(schema as never, "2020-12", false);
const EXAMPLES = ["policies/demo.yaml", "test/e2e/policy.yaml", "bench/policy.yaml"];

const load = (path: string): Doc => parse(readFileSync(new URL(path, ROOT), "utf8")) as Doc;
const schemaErrors = (doc: unknown) => validator.validate(doc).errors;

/** `$.tools.x.limits[0].y` → `#/tools/x/limits/0/y` (JSON Schema instance locations). */
const pointer = (path: string): string =>
  `#${path
    .slice(1)
    .replace(/\[(\d+)\]/g, ".$1")
    .split(".")
    .filter(Boolean)
    .map((s) => `/${s.replace(/~/g, "~0").replace(/\//g, "~1")}`)
    .join("")}`;
const parentOf = (ptr: string): string => ptr.slice(0, ptr.lastIndexOf("/")) || "#";

/** The demo plus a valid write tool with approval, so write-only rules have something to break. */
function base(): Doc {
  const d = load("policies/demo.yaml");
  d.tools.update_stage = {
    kind: "write",
    title: "Update opportunity stage",
    description: "Moves one of the caller's opportunities to another stage.",
    database_role: "writer",
    sql: "UPDATE sales.opportunities SET stage = $2 WHERE id = $1 AND owner_email = $3 RETURNING id",
    parameters: { id: { type: "integer", minimum: 1 }, stage: { type: "string", enum: ["proposal", "negotiation"] } },
    required: ["id", "stage"],
    identity: { owner_email: "email" },
    bind: ["id", "stage", "owner_email"],
    safe_params: ["id", "stage"],
    limits: { max_rows: 1, timeout_ms: 5000, rate_per_minute: 10, max_affected_rows: 1 },
    requires_approval: true,
    approver_group: "approvers",
  };
  d.grants.push({ tools: ["update_stage"], groups: ["account-executives"], expires: "2026-12-31T17:00:00Z" });
  return d;
}

describe("docs/policy.schema.json", () => {
  it("is a draft 2020-12 schema with an $id and a title whose enumerations match the code", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toMatch(/^[a-z]+:/);
    expect(schema.title).toBeTruthy();
    expect(schema.$defs.limits.properties.rate_per_minute.enum).toEqual([...RATE_LIMITS]);
    expect(schema.$defs.databaseRole.properties.tier.enum).toEqual([...TIERS]);
    expect(schema.$defs.tool.properties.kind.enum).toEqual([...TIERS]);
  });

  it.each(EXAMPLES)("accepts %s, which points editors at the schema", (path) => {
    const text = readFileSync(new URL(path, ROOT), "utf8");
    const modeline = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
    expect(modeline, "first line names the schema").not.toBeNull();
    expect(new URL(modeline![1]!, new URL(path, ROOT)).href).toBe(SCHEMA_URL.href);
    const doc = parse(text) as Doc;
    expect(schemaErrors(doc)).toEqual([]);
    expect(validatePolicy(doc)).toMatchObject({ ok: true });
  });

  it("accepts the demo with a write tool that needs approval (the base of the broken cases)", () => {
    expect(schemaErrors(base())).toEqual([]);
    expect(validatePolicy(base())).toMatchObject({ ok: true });
  });
});

// [case, mutation of base(), a path validatePolicy names]
const BROKEN: Array<[string, (d: Doc) => void, string]> = [
  // unknown keys at every level
  ["an unknown top-level key", (d) => (d.tool = {}), "$.tool"],
  ["an unknown key in a database role", (d) => (d.database_roles.reporting.password = "x"), "$.database_roles.reporting.password"],
  ["an unknown key in a group", (d) => (d.groups.admins.owner = "x"), "$.groups.admins.owner"],
  ["an unknown key in a user", (d) => (d.users[0].role = "admin"), "$.users[0].role"],
  ["an unknown key in a task", (d) => (d.tasks[0].schedule = "daily"), "$.tasks[0].schedule"],
  ["a typo in a tool key", (d) => (d.tools.revenue_summary.limts = d.tools.revenue_summary.limits), "$.tools.revenue_summary.limts"],
  ["an unknown limit", (d) => (d.tools.revenue_summary.limits.max_row = 5), "$.tools.revenue_summary.limits.max_row"],
  ["an annotation the kind decides", (d) => (d.tools.revenue_summary.annotations = { readOnlyHint: true }), "$.tools.revenue_summary.annotations.readOnlyHint"],
  ["an unknown key in a grant", (d) => (d.grants[0].expiry = "2026-01-01"), "$.grants[0].expiry"],
  // top level
  ["version 2", (d) => (d.version = 2), "$.version"],
  ["a missing version", (d) => delete d.version, "$.version"],
  ["a missing database_roles", (d) => delete d.database_roles, "$.database_roles"],
  ["missing grants", (d) => delete d.grants, "$.grants"],
  ["an upper-case workspace", (d) => (d.workspace = "Demo"), "$.workspace"],
  ["a 64-character workspace", (d) => (d.workspace = "w".repeat(64)), "$.workspace"],
  ["users as a mapping", (d) => (d.users = {}), "$.users"],
  ["grants as a mapping", (d) => (d.grants = {}), "$.grants"],
  // database roles
  ["an upper-case role name", (d) => (d.database_roles.Audit = { tier: "read", secret: "DB_URL_AUDIT" }), "$.database_roles.Audit"],
  ["a bad tier", (d) => (d.database_roles.reporting.tier = "admin"), "$.database_roles.reporting.tier"],
  ["a secret that is not DB_URL_*", (d) => (d.database_roles.reporting.secret = "SIGNING_KEY"), "$.database_roles.reporting.secret"],
  ["a lower-case secret", (d) => (d.database_roles.reporting.secret = "db_url_reporting"), "$.database_roles.reporting.secret"],
  ["a missing secret", (d) => delete d.database_roles.reporting.secret, "$.database_roles.reporting.secret"],
  // groups, users, tasks
  ["a group name with a space", (d) => (d.groups["sales ops"] = {}), "$.groups.sales ops"],
  ["a group that is a list", (d) => (d.groups.admins = ["admin@example.com"]), "$.groups.admins"],
  ["an upper-case email", (d) => (d.users[0].email = "Alice@example.com"), "$.users[0].email"],
  ["an email without a domain", (d) => (d.users[0].email = "alice"), "$.users[0].email"],
  ["a user without an email", (d) => delete d.users[0].email, "$.users[0].email"],
  ["an empty user name", (d) => (d.users[0].name = ""), "$.users[0].name"],
  ["user groups as a string", (d) => (d.users[0].groups = "sales-ops"), "$.users[0].groups"],
  ["an upper-case task id", (d) => (d.tasks[0].id = "Nightly"), "$.tasks[0].id"],
  // tools
  ["a tool name with '-'", (d) => (d.tools["revenue-summary"] = d.tools.revenue_summary), "$.tools.revenue-summary"],
  ["a bad kind", (d) => (d.tools.revenue_summary.kind = "select"), "$.tools.revenue_summary.kind"],
  ["a missing title", (d) => delete d.tools.revenue_summary.title, "$.tools.revenue_summary.title"],
  ["an empty description", (d) => (d.tools.revenue_summary.description = ""), "$.tools.revenue_summary.description"],
  ["a numeric title", (d) => (d.tools.revenue_summary.title = 42), "$.tools.revenue_summary.title"],
  ["a read tool without sql", (d) => delete d.tools.revenue_summary.sql, "$.tools.revenue_summary.sql"],
  ["a read tool with relations", (d) => (d.tools.revenue_summary.relations = ["reporting.revenue_summary"]), "$.tools.revenue_summary.relations"],
  ["a write tool without sql", (d) => delete d.tools.update_stage.sql, "$.tools.update_stage.sql"],
  ["a sql tool without relations", (d) => delete d.tools.execute_sql.relations, "$.tools.execute_sql.relations"],
  ["a sql tool with no relations", (d) => (d.tools.execute_sql.relations = []), "$.tools.execute_sql.relations"],
  ["a sql tool with sql", (d) => (d.tools.execute_sql.sql = "SELECT 1"), "$.tools.execute_sql.sql"],
  ["a sql tool with parameters", (d) => (d.tools.execute_sql.parameters = {}), "$.tools.execute_sql.parameters"],
  ["a sql tool binding parameters", (d) => (d.tools.execute_sql.bind = ["sql"]), "$.tools.execute_sql.bind"],
  ["a sql tool with an identity parameter", (d) => (d.tools.execute_sql.identity = { who: "email" }), "$.tools.execute_sql.bind"],
  ["an unqualified relation", (d) => d.tools.execute_sql.relations.push("revenue_summary"), "$.tools.execute_sql.relations"],
  ["a catalog relation", (d) => d.tools.execute_sql.relations.push("pg_catalog.pg_authid"), "$.tools.execute_sql.relations"],
  ["an information_schema relation", (d) => d.tools.execute_sql.relations.push("information_schema.columns"), "$.tools.execute_sql.relations"],
  ["an upper-case relation", (d) => d.tools.execute_sql.relations.push("Sales.Contacts"), "$.tools.execute_sql.relations"],
  ["a parameter without a type", (d) => (d.tools.revenue_summary.parameters.region = { maxLength: 32 }), "$.tools.revenue_summary.parameters.region"],
  ["a parameter with a type list", (d) => (d.tools.revenue_summary.parameters.region.type = ["string", "null"]), "$.tools.revenue_summary.parameters.region"],
  ["an upper-case parameter name", (d) => (d.tools.revenue_summary.parameters.Region = { type: "string" }), "$.tools.revenue_summary.parameters.Region"],
  ["an upper-case required name", (d) => (d.tools.revenue_summary.required = ["REGION"]), "$.tools.revenue_summary.required"],
  ["bind as a string", (d) => (d.tools.revenue_summary.bind = "region"), "$.tools.revenue_summary.bind"],
  ["safe_params with a number", (d) => (d.tools.revenue_summary.safe_params = [1]), "$.tools.revenue_summary.safe_params"],
  ["an unknown identity claim", (d) => (d.tools.my_opportunities.identity.owner_email = "phone"), "$.tools.my_opportunities.identity.owner_email"],
  ["a non-boolean annotation", (d) => (d.tools.revenue_summary.annotations = { idempotentHint: "yes" }), "$.tools.revenue_summary.annotations.idempotentHint"],
  // limits
  ["missing limits", (d) => delete d.tools.revenue_summary.limits, "$.tools.revenue_summary.limits"],
  ["a missing timeout", (d) => delete d.tools.revenue_summary.limits.timeout_ms, "$.tools.revenue_summary.limits.timeout_ms"],
  ["a missing max_rows", (d) => delete d.tools.revenue_summary.limits.max_rows, "$.tools.revenue_summary.limits.max_rows"],
  ["a missing rate", (d) => delete d.tools.revenue_summary.limits.rate_per_minute, "$.tools.revenue_summary.limits.rate_per_minute"],
  ["max_rows 0", (d) => (d.tools.revenue_summary.limits.max_rows = 0), "$.tools.revenue_summary.limits.max_rows"],
  ["max_rows 10001", (d) => (d.tools.revenue_summary.limits.max_rows = 10_001), "$.tools.revenue_summary.limits.max_rows"],
  ["a fractional max_rows", (d) => (d.tools.revenue_summary.limits.max_rows = 1.5), "$.tools.revenue_summary.limits.max_rows"],
  ["max_bytes under 1 KiB", (d) => (d.tools.revenue_summary.limits.max_bytes = 512), "$.tools.revenue_summary.limits.max_bytes"],
  ["max_bytes over 4 MiB", (d) => (d.tools.revenue_summary.limits.max_bytes = 4 * 1024 * 1024 + 1), "$.tools.revenue_summary.limits.max_bytes"],
  ["timeout_ms 5", (d) => (d.tools.revenue_summary.limits.timeout_ms = 5), "$.tools.revenue_summary.limits.timeout_ms"],
  ["timeout_ms 60001", (d) => (d.tools.revenue_summary.limits.timeout_ms = 60_001), "$.tools.revenue_summary.limits.timeout_ms"],
  ["rate_per_minute 100", (d) => (d.tools.revenue_summary.limits.rate_per_minute = 100), "$.tools.revenue_summary.limits.rate_per_minute"],
  ["rate_per_minute as a string", (d) => (d.tools.revenue_summary.limits.rate_per_minute = "60"), "$.tools.revenue_summary.limits.rate_per_minute"],
  ["a write tool without max_affected_rows", (d) => delete d.tools.update_stage.limits.max_affected_rows, "$.tools.update_stage.limits.max_affected_rows"],
  ["max_affected_rows 0", (d) => (d.tools.update_stage.limits.max_affected_rows = 0), "$.tools.update_stage.limits.max_affected_rows"],
  ["max_affected_rows 100001", (d) => (d.tools.update_stage.limits.max_affected_rows = 100_001), "$.tools.update_stage.limits.max_affected_rows"],
  // approvals
  ["approval on a read tool", (d) => Object.assign(d.tools.revenue_summary, { requires_approval: true, approver_group: "approvers" }), "$.tools.revenue_summary.requires_approval"],
  ["approval without an approver group", (d) => delete d.tools.update_stage.approver_group, "$.tools.update_stage.approver_group"],
  ["requires_approval as a string", (d) => (d.tools.update_stage.requires_approval = "yes"), "$.tools.update_stage.requires_approval"],
  ["an approver group that cannot be a group name", (d) => (d.tools.update_stage.approver_group = "Approvers"), "$.tools.update_stage.approver_group"],
  // grants
  ["a grant to nobody", (d) => d.grants.push({ tools: ["revenue_summary"] }), "$.grants[5]"],
  ["a grant to empty lists", (d) => d.grants.push({ tools: ["revenue_summary"], users: [], groups: [] }), "$.grants[5]"],
  ["a grant without tools", (d) => delete d.grants[0].tools, "$.grants[0].tools"],
  ["grant tools as a string", (d) => (d.grants[0].tools = "revenue_summary"), "$.grants[0].tools"],
  ["a grant naming a tool that cannot exist", (d) => d.grants[0].tools.push("Drop-Everything"), "$.grants[0].tools"],
  ["a grant to an upper-case email", (d) => d.grants.push({ tools: ["revenue_summary"], users: ["Alice@example.com"] }), "$.grants[5].users"],
  ["an expiry that is not a date", (d) => (d.grants[0].expires = "next tuesday"), "$.grants[0].expires"],
  ["an expiry that is not ISO 8601", (d) => (d.grants[0].expires = "Dec 31 2026"), "$.grants[0].expires"],
  ["an expiry without a time zone (read in the local zone of whoever parses it)", (d) => (d.grants[0].expires = "2026-12-31T17:00:00"), "$.grants[0].expires"],
  ["a numeric expiry", (d) => (d.grants[0].expires = 1767225600), "$.grants[0].expires"],
];

describe("broken policies are refused by both the schema and validatePolicy", () => {
  it("has the cases the brief asks for", () => expect(BROKEN.length).toBeGreaterThanOrEqual(15));

  it.each(BROKEN)("%s", (_name, mutate, path) => {
    const d = base();
    mutate(d);
    const checked = validatePolicy(d);
    expect(checked.ok, "validatePolicy accepts it").toBe(false);
    if (!checked.ok) expect(checked.errors.map((e) => e.path)).toContain(path);
    const errors = schemaErrors(d);
    expect(errors, "the JSON Schema accepts it").not.toEqual([]);
    // The schema reports at the same place, or at the object that is missing a key / has an extra one.
    const at = pointer(path);
    expect(errors.map((e) => e.instanceLocation)).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^(${escapeRegex(at)}|${escapeRegex(parentOf(at))})$`))]));
  });
});

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// What JSON Schema cannot express: cross-references and uniqueness. The schema accepts these; the validator must not.
const CROSS_REFERENCES: Array<[string, (d: Doc) => void, string]> = [
  ["an unknown database role", (d) => (d.tools.revenue_summary.database_role = "nope"), "$.tools.revenue_summary.database_role"],
  ["a read tool on a write-tier role", (d) => (d.tools.revenue_summary.database_role = "writer"), "$.tools.revenue_summary.database_role"],
  ["a user in an undeclared group", (d) => d.users[0].groups.push("ghosts"), "$.users[0].groups"],
  ["a grant to an undeclared group", (d) => d.grants.push({ tools: ["revenue_summary"], groups: ["ghosts"] }), "$.grants[5].groups"],
  ["a grant of an undeclared tool", (d) => d.grants.push({ tools: ["drop_everything"], users: ["alice@example.com"] }), "$.grants[5].tools"],
  ["a grant of the describe_data companion", (d) => d.grants.push({ tools: ["describe_data"], users: ["alice@example.com"] }), "$.grants[5].tools"],
  ["a grant to an unlisted user", (d) => d.grants.push({ tools: ["revenue_summary"], users: ["eve@example.com"] }), "$.grants[5].users"],
  ["a grant to an unlisted task", (d) => d.grants.push({ tools: ["revenue_summary"], tasks: ["ghost-task"] }), "$.grants[5].tasks"],
  ["a parameter never bound", (d) => (d.tools.revenue_summary.bind = []), "$.tools.revenue_summary.bind"],
  ["bind naming no parameter", (d) => d.tools.revenue_summary.bind.push("country"), "$.tools.revenue_summary.bind"],
  ["required naming no parameter", (d) => (d.tools.revenue_summary.required = ["country"]), "$.tools.revenue_summary.required"],
  ["safe_params naming no parameter", (d) => d.tools.revenue_summary.safe_params.push("country"), "$.tools.revenue_summary.safe_params"],
  ["an identity parameter also offered to the model", (d) => (d.tools.my_opportunities.parameters.owner_email = { type: "string" }), "$.tools.my_opportunities.identity.owner_email"],
  ["an undeclared approver group", (d) => (d.tools.update_stage.approver_group = "ghosts"), "$.tools.update_stage.approver_group"],
  ["a user listed twice", (d) => d.users.push({ email: "alice@example.com" }), `$.users[${base().users.length}].email`],
  ["a task listed twice", (d) => d.tasks.push({ id: "nightly-revenue-report" }), "$.tasks[1].id"],
  ["a non-ASCII upper-case email (the schema pattern only excludes A-Z)", (d) => d.users.push({ email: "élodie.Ørsted@example.com" }), `$.users[${base().users.length}].email`],
];

describe("what only validatePolicy can check", () => {
  it.each(CROSS_REFERENCES)("%s", (_name, mutate, path) => {
    const d = base();
    mutate(d);
    expect(schemaErrors(d)).toEqual([]);
    const checked = validatePolicy(d);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.errors.map((e) => e.path)).toContain(path);
  });
});

// Where the schema is deliberately stricter than validate.ts today (reported as validator gaps). When validate.ts
// is tightened, these fail: move each case to BROKEN.
const SCHEMA_STRICTER: Array<[string, (d: Doc) => void]> = [
  ["a database role description that is not a string", (d) => (d.database_roles.reporting.description = 42)],
  ["a group description that is not a string", (d) => (d.groups.admins.description = ["x"])],
];

describe("where the schema is stricter than validatePolicy", () => {
  it.each(SCHEMA_STRICTER)("%s", (_name, mutate) => {
    const d = base();
    mutate(d);
    expect(schemaErrors(d)).not.toEqual([]);
    expect(validatePolicy(d)).toMatchObject({ ok: true });
  });

  it("accepts the expiry forms the reference documents", () => {
    for (const expires of ["2026-12-31", "2026-12-31T17:00Z", "2026-12-31T17:00:00Z", "2026-12-31T17:00:00.5+02:00", "2026-12-31T17:00:00-05:30"]) {
      const d = base();
      d.grants[0].expires = expires;
      expect(schemaErrors(d), expires).toEqual([]);
      expect(validatePolicy(d), expires).toMatchObject({ ok: true });
    }
  });
});
