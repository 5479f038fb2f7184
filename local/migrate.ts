import { join } from "node:path";
import { migrateLocalD1 } from "./d1";
import { ROOT } from "./wrangler";

/**
 * `npm run db:migrate:local`: brings the dev stack's D1 (.data/wrangler) to the current schema without starting
 * anything else, adopting one created before migrations existed (docs/deployment.md "Upgrading").
 */
try {
  process.stdout.write(await migrateLocalD1(join(ROOT, ".data", "wrangler")));
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
