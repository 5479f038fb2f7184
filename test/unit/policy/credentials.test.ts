import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { checkCredentialBindings, credentialProblem, credentialsFrom, dynamicKeyProblem, parseDatabaseCredentials } from "../../../src/policy/credentials";
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

  describe("dynamic mode", () => {
    const KEY = "q6l8zRkXw0cAN3V0mB1yN5lRrX5hY8cJ0m2G4a7oT9s"; // 43 base64url characters: 32 bytes
    const dynamic = (extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        DB_URL_REPORTING: { tier: "read", workspaces: ["demo"] },
        DB_URL_DIAGNOSTIC: { tier: "sql", workspaces: ["demo"], mode: "dynamic", role: "gatehouse_diagnostic", ...extra },
        DB_URL_WRITER: { tier: "write", workspaces: ["demo"], mode: "static" },
      });

    it("parses mode and role; static stays the default, and a dynamic binding with a valid key is usable", () => {
      const parsed = parseDatabaseCredentials(dynamic(), KEY);
      expect(parsed.ok && parsed.bindings.get("DB_URL_DIAGNOSTIC")).toEqual({ tier: "sql", workspaces: ["demo"], dynamic: { role: "gatehouse_diagnostic" } });
      expect(parsed.ok && parsed.bindings.get("DB_URL_WRITER")).toEqual({ tier: "write", workspaces: ["demo"] });
      expect(checkCredentialBindings(demo(), parsed)).toEqual([]);
    });

    it.each([
      ["a mode that is neither", { mode: "rotating" }, 'DATABASE_CREDENTIALS.DB_URL_DIAGNOSTIC.mode must be "static" or "dynamic"'],
      ["a dynamic binding without role", { role: undefined }, "DATABASE_CREDENTIALS.DB_URL_DIAGNOSTIC.role is required"],
      ["a role that is not a Postgres identifier", { role: "Gatehouse Diagnostic" }, "DATABASE_CREDENTIALS.DB_URL_DIAGNOSTIC.role must be a lower-case Postgres role name"],
      ["a quoted-identifier role", { role: 'x"; DROP ROLE y; --' }, "DATABASE_CREDENTIALS.DB_URL_DIAGNOSTIC.role must be"],
      ["a reserved role", { role: "pg_monitor" }, "DATABASE_CREDENTIALS.DB_URL_DIAGNOSTIC.role must be"],
      ["a per-token login as tier role", { role: "gh_0123456789abcdef" }, "DATABASE_CREDENTIALS.DB_URL_DIAGNOSTIC.role must be"],
      ["a role of 64 characters", { role: "r".repeat(64) }, "DATABASE_CREDENTIALS.DB_URL_DIAGNOSTIC.role must be"],
      ["a role on a static binding", { mode: "static" }, "DATABASE_CREDENTIALS.DB_URL_DIAGNOSTIC.role applies only to"],
    ])("reports %s as a configuration error naming the key", (_name, extra, message) => {
      const parsed = parseDatabaseCredentials(dynamic(extra), KEY);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain(message);
    });

    it.each([
      ["missing", undefined, "DYNAMIC_ROLE_KEY is not set"],
      ["empty", "", "DYNAMIC_ROLE_KEY is not set"],
      ["shorter than 32 bytes", KEY.slice(0, 42), "not base64url of at least 32 random bytes"],
      ["not base64url", `${KEY.slice(0, 42)}+`, "not base64url of at least 32 random bytes"],
      // 45 = 4·11 + 1 characters encode no whole number of bytes: base64 decoding (atob) throws on it, which would
      // reject the key import on the call path instead of refusing the binding here.
      ["of a length no base64 has", `${KEY}ab`, "not base64url of at least 32 random bytes"],
      ["of such a length, padded", `${KEY}ab=`, "not base64url of at least 32 random bytes"],
    ])("fails closed with the DYNAMIC_ROLE_KEY secret %s: the dynamic binding is refused at apply, the static ones are not", (_name, key, message) => {
      const parsed = parseDatabaseCredentials(dynamic(), key);
      expect(parsed.ok).toBe(true);
      expect(checkCredentialBindings(demo(), parsed)).toEqual([{ path: "$.database_roles.diagnostic.secret", message: expect.stringContaining(message) }]);
      if (parsed.ok) expect(credentialProblem(parsed.bindings, "demo", "DB_URL_DIAGNOSTIC", "sql")?.message).toContain("DB_URL_DIAGNOSTIC is a dynamic credential");
      expect(dynamicKeyProblem(key)).toContain(message);
    });

    it("re-parses when the key changes (the per-isolate memo never serves a keyless parse to a keyed env)", () => {
      const raw = dynamic();
      const without = credentialsFrom({ DATABASE_CREDENTIALS: raw });
      const withKey = credentialsFrom({ DATABASE_CREDENTIALS: raw, DYNAMIC_ROLE_KEY: KEY });
      expect(without.ok && without.bindings.get("DB_URL_DIAGNOSTIC")?.dynamic?.unusable).toContain("not set");
      expect(withKey.ok && withKey.bindings.get("DB_URL_DIAGNOSTIC")?.dynamic?.unusable).toBeUndefined();
    });
  });
});
