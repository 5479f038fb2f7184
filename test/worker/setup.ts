import { applyD1Migrations, env } from "cloudflare:test";
import { beforeAll } from "vitest";
import { parse } from "yaml";
import demoPolicy from "../../policies/demo.yaml?raw";
import { validatePolicy } from "../../src/policy/validate";
import { compilePolicy } from "../../src/policy/compile";
import { applyCompiledPolicy } from "../../src/policy/store-d1";

beforeAll(async () => {
  // D1 as a deployment builds it: every migration in order (the same files `wrangler d1 migrations apply` runs).
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  const checked = validatePolicy(parse(demoPolicy));
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  await applyCompiledPolicy(env.DB, await compilePolicy(checked.policy), JSON.stringify(checked.policy), "test", new Date());
});
