import { describe, expect, it } from "vitest";
import { parseDatabaseCredentials } from "../../../src/policy/credentials";
import { brokersOf } from "../../../src/tools/dynamic-revocation";

const KEY = "q6l8zRkXw0cAN3V0mB1yN5lRrX5hY8cJ0m2G4a7oT9s";

function bindings(raw: unknown, key: unknown = KEY) {
  const parsed = parseDatabaseCredentials(raw, key);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.bindings;
}

describe("brokersOf", () => {
  const config = {
    DB_URL_REPORTING: { tier: "read", workspaces: ["demo"] },
    DB_URL_SQL: { tier: "sql", workspaces: ["demo", "ops"], mode: "dynamic", role: "gatehouse_diagnostic" },
    DB_URL_WRITE: { tier: "write", workspaces: ["demo"], mode: "dynamic", role: "gatehouse_writer" },
    DB_URL_OPS: { tier: "sql", workspaces: ["ops"], mode: "dynamic", role: "gatehouse_diagnostic" },
    DB_URL_UNSET: { tier: "sql", workspaces: ["demo"], mode: "dynamic", role: "gatehouse_diagnostic" },
  };
  const secrets: Record<string, string> = { DB_URL_REPORTING: "postgresql://static", DB_URL_SQL: "postgresql://broker-a", DB_URL_WRITE: "postgresql://broker-a", DB_URL_OPS: "postgresql://broker-b" };
  const secret = (name: string) => secrets[name];

  it("lists the workspace's dynamic credentials once per broker, never a static one, and an unset secret apart", () => {
    expect(brokersOf(bindings(config), secret, "demo")).toEqual(
      new Map([
        ["postgresql://broker-a", ["DB_URL_SQL", "DB_URL_WRITE"]],
        ["", ["DB_URL_UNSET"]],
      ]),
    );
    expect(brokersOf(bindings(config), secret, "ops")).toEqual(
      new Map([
        ["postgresql://broker-a", ["DB_URL_SQL"]],
        ["postgresql://broker-b", ["DB_URL_OPS"]],
      ]),
    );
    expect(brokersOf(bindings(config), secret, "elsewhere")).toEqual(new Map());
  });

  it("lists every dynamic credential for the sweep, also when the key is missing (revocation and cleanup need no key)", () => {
    expect([...brokersOf(bindings(config, undefined), secret).keys()]).toEqual(["postgresql://broker-a", "postgresql://broker-b", ""]);
  });
});
