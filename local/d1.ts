import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runWrangler } from "./wrangler";

/** scripts/d1-adopt-migrations.sql: records the migrations a database created from schema.sql already has. */
export const ADOPT_MIGRATIONS_SQL = join(ROOT, "scripts/d1-adopt-migrations.sql");

/**
 * Brings the local D1 under `persistTo` to the current schema the way a deployment does (docs/deployment.md
 * "Upgrading"): `wrangler d1 migrations apply DB --local`. A database left by an older checkout, created from
 * schema.sql before migrations existed, is adopted first, so its data survives the upgrade. An empty directory
 * gets every migration from 0001. Returns wrangler's output.
 */
export async function migrateLocalD1(persistTo: string): Promise<string> {
  if (existsSync(join(persistTo, "v3", "d1"))) {
    await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", ADOPT_MIGRATIONS_SQL]);
  }
  return runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo]);
}
