// Pooled connections (docs/neon-http.md): one pool per credentials and startup parameters; session state is NOT reset
// between requests (as on Neon, so the guard must prevent session side effects); a connection left inside a
// transaction, or whose statement failed, is discarded; an aborted request cancels its statement.
// Each test uses its own application_name, hence its own pool: with requests made one after another the pool
// hands back the connection it was just given, so "same backend pid" is deterministic.
import { describe, expect, it } from "vitest";
import { eventually, isolatedSql, withSuperuser } from "./neon-http-helpers";

describe("pooled connections", () => {
  it("keep session state across requests: a SET made by one request is seen by the next", async () => {
    const sql = isolatedSql("session_state");
    const [first] = await sql`SELECT pg_backend_pid() AS pid, set_config('gatehouse.probe', 'kept', false) AS v`;
    await sql.query("SET TIME ZONE 'Asia/Tokyo'");
    const [second] = await sql`SELECT pg_backend_pid() AS pid, current_setting('gatehouse.probe', true) AS v,
                                      current_setting('TimeZone') AS tz`;
    expect(second!.pid).toBe(first!.pid);
    expect(second).toMatchObject({ v: "kept", tz: "Asia/Tokyo" });
  });

  it("are not shared between different startup parameters", async () => {
    const one = isolatedSql("pool_one");
    const other = isolatedSql("pool_other");
    await one.query("SELECT set_config('gatehouse.probe', 'one', false)");
    expect(await other`SELECT current_setting('gatehouse.probe', true) AS v`).toEqual([{ v: null }]);
  });

  it("are discarded when a request leaves a transaction open (BEGIN): the next request starts clean", async () => {
    const sql = isolatedSql("open_begin");
    const [before] = await sql`SELECT pg_backend_pid() AS pid`;
    const begin = await sql.query("BEGIN", [], { fullResults: true });
    expect(begin.command).toBe("BEGIN");
    const [after] = await sql`SELECT pg_backend_pid() AS pid`;
    expect(after!.pid).not.toBe(before!.pid);
    const gone = await eventually(() => withSuperuser(async (admin) => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [before!.pid])).rowCount === 0));
    expect(gone).toBe(true);
  });

  it("are discarded after a failed statement, as Neon's pool does", async () => {
    const sql = isolatedSql("failed_statement");
    const [before] = await sql`SELECT pg_backend_pid() AS pid`;
    await expect(sql`SELECT 1 / 0`).rejects.toThrow(/division by zero/);
    const [after] = await sql`SELECT pg_backend_pid() AS pid`;
    expect(after!.pid).not.toBe(before!.pid);
  });

  it("are reused after a batch that failed and was rolled back", async () => {
    const sql = isolatedSql("failed_batch");
    const [before] = await sql`SELECT pg_backend_pid() AS pid`;
    await expect(sql.transaction([sql`SELECT 1`, sql`SELECT 1 / 0`])).rejects.toThrow(/division by zero/);
    const [after] = await sql`SELECT pg_backend_pid() AS pid, pg_current_xact_id_if_assigned() AS xid`;
    expect(after).toEqual({ pid: before!.pid, xid: null });
  });

  it("have their statement cancelled when the HTTP client aborts the request", async () => {
    const sql = isolatedSql("aborted");
    const [{ app }] = (await sql`SELECT current_setting('application_name') AS app`) as [{ app: string }];
    const controller = new AbortController();
    // The driver's query is lazy: catch() sends it now, and keeps the expected rejection handled.
    const sleeping = sql.query("SELECT pg_sleep(30)", [], { fetchOptions: { signal: controller.signal } }).catch((e: unknown) => e);
    const running = () =>
      withSuperuser(async (admin) => {
        const result = await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query = 'SELECT pg_sleep(30)'", [app]);
        return result.rowCount === 1;
      });
    expect(await eventually(running)).toBe(true);
    controller.abort();
    expect(await sleeping).toBeInstanceOf(Error);
    expect(await eventually(async () => !(await running()))).toBe(true);
  });
});
