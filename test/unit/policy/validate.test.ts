import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { validatePolicy } from "../../../src/policy/validate";
import { compilePolicy } from "../../../src/policy/compile";

const demo = () => parse(readFileSync(new URL("../../../policies/demo.yaml", import.meta.url), "utf8")) as Record<string, any>;

describe("policy validation", () => {
  it("accepts the demo policy and compiles identity-bound parameters out of the schema", async () => {
    const checked = validatePolicy(demo());
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    const compiled = await compilePolicy(checked.policy);
    const mine = compiled.tools.find((t) => t.name === "my_opportunities")!;
    expect(Object.keys(mine.inputSchema.properties)).toEqual(["stage"]);
    expect(mine.identity).toEqual({ owner_email: "email" });
    expect(mine.bind).toEqual(["owner_email", "stage"]);
    expect(mine.secret).toBe("DB_URL_REPORTING");
    expect(mine.version).toMatch(/^[0-9a-f]{16}$/);
  });

  const lastGrant = `$.grants[${demo().grants.length}]`;
  const broken: Array<[string, (d: Record<string, any>) => void, string]> = [
    ["an unknown top-level key", (d) => (d.tool = {}), "$.tool"],
    ["a typo in a tool key", (d) => (d.tools.revenue_summary.limts = d.tools.revenue_summary.limits), "$.tools.revenue_summary.limts"],
    ["an unknown database role", (d) => (d.tools.revenue_summary.database_role = "nope"), "$.tools.revenue_summary.database_role"],
    ["a read tool on a write role", (d) => (d.tools.revenue_summary.database_role = "writer"), "$.tools.revenue_summary.database_role"],
    ["a missing limit", (d) => delete d.tools.revenue_summary.limits.timeout_ms, "$.tools.revenue_summary.limits.timeout_ms"],
    ["a grant to an unknown group", (d) => d.grants.push({ tools: ["revenue_summary"], groups: ["ghosts"] }), `${lastGrant}.groups`],
    ["a grant of an unknown tool", (d) => d.grants.push({ tools: ["drop_everything"], users: ["alice@example.com"] }), `${lastGrant}.tools`],
    ["an unbound parameter", (d) => (d.tools.revenue_summary.bind = []), "$.tools.revenue_summary.bind"],
    ["an impossible expiry date (not rolled over to March)", (d) => (d.grants[0].expires = "2026-02-30"), "$.grants[0].expires"],
    [
      "a write statement without RETURNING",
      (d) => (d.tools.update_opportunity_stage.sql = "UPDATE sales.opportunities SET stage = $2 WHERE id = $1 AND owner_email = $3"),
      "$.tools.update_opportunity_stage.sql",
    ],
    ["a parameter type that is not a JSON Schema type", (d) => (d.tools.revenue_summary.parameters.region.type = "strng"), "$.tools.revenue_summary.parameters.region"],
    ["an identity parameter also offered to the model", (d) => (d.tools.my_opportunities.parameters.owner_email = { type: "string" }), "$.tools.my_opportunities.identity.owner_email"],
  ];
  it.each(broken)("rejects %s, naming the path", (_name, mutate, path) => {
    const d = demo();
    mutate(d);
    const checked = validatePolicy(d);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.errors.map((e) => e.path)).toContain(path);
  });
});
