import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { checkCredentialBindings, parseDatabaseCredentials } from "../../../src/policy/credentials";
import { validatePolicy } from "../../../src/policy/validate";
import type { PolicyDocument } from "../../../src/policy/document";

const demo = (): PolicyDocument => {
  const checked = validatePolicy(parse(readFileSync(new URL("../../../policies/demo.yaml", import.meta.url), "utf8")));
  if (!checked.ok) throw new Error("demo policy is invalid");
  return checked.policy;
};

/** The demo's bindings, as wrangler.toml sets them. */
const DEMO = JSON.stringify({
  DB_URL_REPORTING: { tier: "read", workspaces: ["demo"] },
  DB_URL_DIAGNOSTIC: { tier: "sql", workspaces: ["demo"] },
  DB_URL_WRITER: { tier: "write", workspaces: ["demo"] },
});

describe("DATABASE_CREDENTIALS", () => {
  it("parses the demo's bindings, as a JSON string or an object", () => {
    const parsed = parseDatabaseCredentials(DEMO);
    expect(parsed.ok && parsed.bindings.get("DB_URL_WRITER")).toEqual({ tier: "write", workspaces: ["demo"] });
    expect(parseDatabaseCredentials(JSON.parse(DEMO))).toEqual(parsed);
  });

  it.each([undefined, "", "  "])("binds nothing when unset or empty (%j): every role is refused", (raw) => {
    const parsed = parseDatabaseCredentials(raw);
    expect(parsed).toEqual({ ok: true, bindings: new Map() });
    expect(checkCredentialBindings(demo(), parsed).map((e) => e.path)).toEqual(["$.database_roles.reporting.secret", "$.database_roles.diagnostic.secret", "$.database_roles.writer.secret"]);
  });

  it.each([
    ["not JSON", "{DB_URL_X: read}", "not valid JSON"],
    ["a list", "[]", "must be a JSON object"],
    ["a key that is not DB_URL_*", JSON.stringify({ SIGNING_KEY: { tier: "read", workspaces: ["demo"] } }), "DATABASE_CREDENTIALS.SIGNING_KEY: keys must name"],
    ["an unknown tier", JSON.stringify({ DB_URL_X: { tier: "admin", workspaces: ["demo"] } }), "DATABASE_CREDENTIALS.DB_URL_X.tier must be read, sql or write"],
    ["workspaces not a list of names", JSON.stringify({ DB_URL_X: { tier: "read", workspaces: "demo" } }), "DATABASE_CREDENTIALS.DB_URL_X.workspaces must be a list"],
    ["a wildcard workspace", JSON.stringify({ DB_URL_X: { tier: "read", workspaces: ["*"] } }), "DATABASE_CREDENTIALS.DB_URL_X.workspaces must be a list"],
    ["an unknown key", JSON.stringify({ DB_URL_X: { tier: "read", workspaces: [], approval: true } }), "DATABASE_CREDENTIALS.DB_URL_X.approval: unknown key"],
  ])("reports %s as a configuration error naming the key, and then binds nothing", (_name, raw, message) => {
    const parsed = parseDatabaseCredentials(raw);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toContain(message);
    expect(checkCredentialBindings(demo(), parsed)).toEqual([{ path: "$.database_roles", message: expect.stringContaining("no database credential is usable") }]);
  });

  it("accepts the demo policy under the demo's bindings", () => {
    expect(checkCredentialBindings(demo(), parseDatabaseCredentials(DEMO))).toEqual([]);
  });

  it("refuses another workspace's secret and a bound secret at another tier, naming the path", () => {
    const policy = demo();
    const other = { ...policy, workspace: "tenant-b" };
    expect(checkCredentialBindings(other, parseDatabaseCredentials(DEMO)).map((e) => e.path)).toEqual([
      "$.database_roles.reporting.secret",
      "$.database_roles.diagnostic.secret",
      "$.database_roles.writer.secret",
    ]);
    const swapped = { ...policy, database_roles: { ...policy.database_roles, reporting: { tier: "read" as const, secret: "DB_URL_DIAGNOSTIC" } } };
    expect(checkCredentialBindings(swapped, parseDatabaseCredentials(DEMO))).toEqual([
      { path: "$.database_roles.reporting.tier", message: expect.stringContaining("DB_URL_DIAGNOSTIC is bound as the sql tier, not read") },
    ]);
  });
});
