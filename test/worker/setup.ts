import { env } from "cloudflare:test";
import { beforeAll } from "vitest";
import { parse } from "yaml";
import schema from "../../schema.sql?raw";
import demoPolicy from "../../policies/demo.yaml?raw";
import { validatePolicy } from "../../src/policy/validate";
import { compilePolicy } from "../../src/policy/compile";
import { applyCompiledPolicy } from "../../src/policy/store-d1";

/** Statements of schema.sql, comments stripped (D1 prepares one statement at a time). */
function statements(sql: string): string[] {
  return sql
    .replace(/--[^\n]*/g, "")
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

beforeAll(async () => {
  await env.DB.batch(statements(schema).map((s) => env.DB.prepare(s)));
  const checked = validatePolicy(parse(demoPolicy));
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  await applyCompiledPolicy(env.DB, await compilePolicy(checked.policy), JSON.stringify(checked.policy), "test", new Date());
});
