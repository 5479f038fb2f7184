// Batches (docs/neon-http.md): `{"queries": [...]}` runs as one START TRANSACTION … COMMIT with the batch headers'
// isolation level, read-only and deferrable modes, rolls back on the first error, and echoes the headers.
import { neon, NeonDbError } from "@neondatabase/serverless";
import { beforeAll, describe, expect, it } from "vitest";
import { connectionString, post, uniqueName } from "./neon-http-helpers";

const sql = neon(connectionString());
const MODES = `SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro,
                      current_setting('transaction_deferrable') AS def`;

let table: string;
beforeAll(async () => {
  table = uniqueName("tx");
  await sql.query(`CREATE TABLE ${table} (v text)`);
});

describe("sql.transaction", () => {
  it("runs with the requested isolation level and read-only mode", async () => {
    const [modes] = await sql.transaction([sql.query(MODES)], { isolationLevel: "Serializable", readOnly: true });
    expect(modes).toEqual([{ iso: "serializable", ro: "on", def: "off" }]);
    const [deferrable] = await sql.transaction([sql.query(MODES)], { isolationLevel: "Serializable", readOnly: true, deferrable: true });
    expect(deferrable).toEqual([{ iso: "serializable", ro: "on", def: "on" }]);
    const [defaults] = await sql.transaction([sql.query(MODES)]);
    expect(defaults).toEqual([{ iso: "read committed", ro: "off", def: "off" }]);
  });

  it("refuses a write inside a read-only transaction with 25006", async () => {
    const error = await sql.transaction([sql.query(`INSERT INTO ${table} VALUES ('ro')`)], { readOnly: true, isolationLevel: "Serializable" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect((error as NeonDbError).code).toBe("25006");
    expect(await sql.query(`SELECT count(*)::int AS n FROM ${table} WHERE v = 'ro'`)).toEqual([{ n: 0 }]);
  });

  it("runs every statement in one transaction and returns one result per statement", async () => {
    const results = await sql.transaction([
      sql`INSERT INTO ${sql.unsafe(table)} VALUES ('a'), ('b')`,
      sql`SELECT txid_current() AS xid`,
      sql`SELECT txid_current() AS xid`,
      sql.query(`SELECT count(*)::int AS n FROM ${table} WHERE v IN ('a', 'b')`),
    ]);
    expect(results[0]).toEqual([]);
    expect(results[1]).toEqual(results[2]);
    expect(results[3]).toEqual([{ n: 2 }]);
  });

  it("rolls back earlier statements when a later one fails, and reports that error", async () => {
    const error = await sql.transaction([sql.query(`INSERT INTO ${table} VALUES ('gone1')`), sql.query(`INSERT INTO ${table} VALUES ('gone2')`), sql`SELECT 1 / 0`]).catch((e: unknown) => e);
    expect((error as NeonDbError).code).toBe("22012");
    expect(await sql.query(`SELECT count(*)::int AS n FROM ${table} WHERE v LIKE 'gone%'`)).toEqual([{ n: 0 }]);
  });

  it("reports an error raised at COMMIT (a deferred constraint) and keeps nothing", async () => {
    const deferred = uniqueName("deferred");
    await sql.query(`CREATE TABLE ${deferred} (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)`);
    const error = await sql.transaction([sql.query(`INSERT INTO ${deferred} VALUES (1)`), sql.query(`INSERT INTO ${deferred} VALUES (1)`)]).catch((e: unknown) => e);
    expect((error as NeonDbError).code).toBe("23505");
    expect(await sql.query(`SELECT count(*)::int AS n FROM ${deferred}`)).toEqual([{ n: 0 }]);
  });

  it("fails the whole batch with 42601 when one entry holds two statements", async () => {
    const error = await sql.transaction([sql.query(`INSERT INTO ${table} VALUES ('multi')`), sql.query("SELECT 1; SELECT 2")]).catch((e: unknown) => e);
    expect((error as NeonDbError).code).toBe("42601");
    expect(await sql.query(`SELECT count(*)::int AS n FROM ${table} WHERE v = 'multi'`)).toEqual([{ n: 0 }]);
  });
});

describe("batch headers", () => {
  const queries = [{ query: MODES, params: [] }];

  it("are echoed on a batch response", async () => {
    const response = await post({ queries }, { "Neon-Batch-Isolation-Level": "RepeatableRead", "Neon-Batch-Read-Only": "true", "Neon-Batch-Deferrable": "true" });
    expect(response.status).toBe(200);
    expect(response.headers.get("neon-batch-isolation-level")).toBe("RepeatableRead");
    expect(response.headers.get("neon-batch-read-only")).toBe("true");
    expect(response.headers.get("neon-batch-deferrable")).toBe("true");
    expect(response.json.results[0].rows).toEqual([{ iso: "repeatable read", ro: "on", def: "on" }]);
  });

  it("take effect only when exactly `true`, and are not echoed otherwise", async () => {
    const response = await post({ queries }, { "Neon-Batch-Read-Only": "TRUE", "Neon-Batch-Deferrable": "yes" });
    expect(response.json.results[0].rows).toEqual([{ iso: "read committed", ro: "off", def: "off" }]);
    expect(response.headers.get("neon-batch-read-only")).toBeNull();
    expect(response.headers.get("neon-batch-deferrable")).toBeNull();
  });

  it("accept every documented isolation level", async () => {
    const expected = { Serializable: "serializable", RepeatableRead: "repeatable read", ReadCommitted: "read committed", ReadUncommitted: "read uncommitted" };
    for (const [level, iso] of Object.entries(expected)) {
      const response = await post({ queries }, { "Neon-Batch-Isolation-Level": level });
      expect(response.json.results[0].rows[0].iso).toBe(iso);
    }
  });

  it("refuse an unknown isolation level with 400 `invalid isolation level`", async () => {
    for (const level of ["serializable", "SERIALIZABLE", "Snapshot", ""]) {
      const response = await post({ queries }, { "Neon-Batch-Isolation-Level": level });
      expect(response.status).toBe(400);
      expect(response.json).toMatchObject({ message: "invalid isolation level", code: "" });
    }
  });

  it("apply each query's own arrayMode inside a batch", async () => {
    const response = await post({ queries: [{ query: "SELECT 1 AS a", arrayMode: true }, { query: "SELECT 2 AS b" }] });
    expect(response.json.results.map((r: { rows: unknown[]; rowAsArray: boolean }) => [r.rows, r.rowAsArray])).toEqual([
      [[[1]], true],
      [[{ b: 2 }], false],
    ]);
  });
});
