// Role hardening against a real Postgres, with no gateway in the way: each tier's role connects directly and is
// shown what it can and cannot do (postgres/roles.sql, postgres/demo.sql, postgres/test-aids.sql). Runs on the
// local suite's cluster in databases of its own; it is the suite's only user of the (cluster-wide) tier roles.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BROKER_ROLE, TIER_ROLES, setupDatabase } from "../../local/setup-db";
import type { RolePasswords } from "../../local/setup-db";
import { checkSelect } from "../../src/guard/rules";
import { nodeSqlParser } from "../unit/guard/wasm";

type Tier = keyof RolePasswords;
const TIERS = Object.keys(TIER_ROLES) as Tier[];
const DATABASE = "gatehouse_roles_test";
// Text forms chosen to be independent of the session's DateStyle and TimeZone.
const OPPORTUNITIES_CHECKSUM = `
  SELECT md5(string_agg(
           concat_ws('|', id, account_id, name, stage, amount, to_char(close_date, 'YYYY-MM-DD'), owner_email),
           ',' ORDER BY id)) AS sum
  FROM sales.opportunities`;

const superuserUrl = inject("neonHttp").superuserUrl;
const passwords: RolePasswords = {
  reporting: randomBytes(18).toString("base64url"),
  diagnostic: randomBytes(18).toString("base64url"),
  writer: randomBytes(18).toString("base64url"),
};
const sessions = new Map<Tier, pg.Client>();
let superuser: pg.Client;
let firstChecksum: string;

beforeAll(async () => {
  await setupDatabase(superuserUrl, { database: DATABASE, passwords });
  superuser = await connect("postgres", decodeURIComponent(new URL(superuserUrl).password));
  firstChecksum = (await superuser.query<{ sum: string }>(OPPORTUNITIES_CHECKSUM)).rows[0]!.sum;
  for (const tier of TIERS) sessions.set(tier, await connect(TIER_ROLES[tier], passwords[tier]));
});

afterAll(async () => {
  await Promise.all([...sessions.values(), superuser].map((client) => client?.end().catch(() => undefined)));
});

async function connect(user: string, password: string, database = DATABASE): Promise<pg.Client> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port: Number(new URL(superuserUrl).port),
    database,
    user,
    password,
  });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

function session(tier: Tier): pg.Client {
  return sessions.get(tier)!;
}

/** Runs `sql` in a read-write transaction that is always rolled back, so the role's privileges decide. */
async function inWriteTransaction(tier: Tier, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = session(tier);
  await client.query("BEGIN READ WRITE");
  try {
    return await client.query(sql, params);
  } finally {
    await client.query("ROLLBACK");
  }
}

async function sqlstate(run: Promise<unknown>): Promise<string> {
  try {
    await run;
  } catch (error) {
    return (error as { code?: string }).code ?? "no SQLSTATE";
  }
  return "succeeded";
}

async function count(tier: Tier, relation: string): Promise<number> {
  const { rows } = await session(tier).query<{ n: number }>(`SELECT count(*)::int AS n FROM ${relation}`);
  return rows[0]!.n;
}

describe("roles", () => {
  it("are NOINHERIT LOGIN roles with no privileged attribute, no membership and bounded connections", async () => {
    const { rows } = await superuser.query(
      `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
              rolconnlimit, (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS memberships
       FROM pg_roles r WHERE rolname LIKE 'gatehouse\\_%' AND rolname <> 'gatehouse_broker' ORDER BY rolname`,
    );
    const base = {
      rolsuper: false,
      rolinherit: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolcanlogin: true,
      rolreplication: false,
      rolbypassrls: false,
      memberships: 0,
    };
    expect(rows).toEqual([
      { rolname: "gatehouse_diagnostic", ...base, rolconnlimit: 30 },
      { rolname: "gatehouse_reporting", ...base, rolconnlimit: 30 },
      { rolname: "gatehouse_writer", ...base, rolconnlimit: 15 },
    ]);
  });
});

describe("roles.sql on a database that already has objects", () => {
  const existing = "gatehouse_roles_existing";
  let owner: pg.Client;

  beforeAll(async () => {
    await superuser.query(`DROP DATABASE IF EXISTS ${existing} WITH (FORCE)`);
    await superuser.query(`CREATE DATABASE ${existing}`);
    owner = await connect("postgres", decodeURIComponent(new URL(superuserUrl).password), existing);
  });

  afterAll(async () => {
    await owner?.end();
  });

  it("refuses while dblink is installed", async () => {
    await owner.query("CREATE EXTENSION dblink");
    await expect(setupDatabase(superuserUrl, { database: existing, passwords })).rejects.toThrow(/dblink or postgres_fdw is installed/);
    await owner.query("DROP EXTENSION dblink");
  });

  it("refuses while PUBLIC may create objects in some schema", async () => {
    await owner.query("CREATE SCHEMA shared; GRANT CREATE ON SCHEMA shared TO PUBLIC");
    await expect(setupDatabase(superuserUrl, { database: existing, passwords })).rejects.toThrow(/role hardening incomplete: .*may create objects in a schema/);
    await owner.query("DROP SCHEMA shared");
  });

  it("revokes PUBLIC's EXECUTE on application functions, also on functions created later", async () => {
    await owner.query("CREATE FUNCTION public.before_setup() RETURNS int LANGUAGE sql AS 'SELECT 1'");
    await setupDatabase(superuserUrl, { database: existing, passwords });
    await owner.query("CREATE FUNCTION public.after_setup() RETURNS int LANGUAGE sql AS 'SELECT 1'");
    const { rows } = await owner.query(
      `SELECT f, has_function_privilege(r, f, 'EXECUTE') AS executable
       FROM unnest($1::text[]) AS r CROSS JOIN unnest(ARRAY['public.before_setup()', 'public.after_setup()']) AS f
       WHERE has_function_privilege(r, f, 'EXECUTE')`,
      [Object.values(TIER_ROLES)],
    );
    expect(rows).toEqual([]);
  });
});

describe.each(TIERS)("every tier: %s", (tier) => {
  it("has the role-level timeouts", async () => {
    const { rows } = await session(tier).query(
      `SELECT current_user AS role, current_setting('statement_timeout') AS statement_timeout,
              current_setting('lock_timeout') AS lock_timeout,
              current_setting('idle_in_transaction_session_timeout') AS idle_timeout,
              current_setting('default_transaction_read_only') AS read_only`,
    );
    expect(rows[0]).toEqual({
      role: TIER_ROLES[tier],
      statement_timeout: "15s",
      lock_timeout: "2s",
      idle_timeout: "10s",
      read_only: tier === "writer" ? "off" : "on",
    });
  });

  it("cannot read secrets.api_tokens or sales.contacts", async () => {
    expect(await sqlstate(session(tier).query("SELECT token FROM secrets.api_tokens"))).toBe("42501");
    expect(await sqlstate(session(tier).query("SELECT count(*) FROM sales.contacts"))).toBe("42501");
    expect(await sqlstate(session(tier).query("SELECT email FROM sales.contacts"))).toBe("42501");
  });

  it("cannot create temporary tables, schemas, or objects in any schema", async () => {
    for (const sql of [
      "CREATE TEMP TABLE scratch (x int)",
      "CREATE SCHEMA scratch",
      "CREATE TABLE public.scratch (x int)",
      "CREATE VIEW public.scratch AS SELECT 1",
      "CREATE FUNCTION public.scratch() RETURNS int LANGUAGE sql AS 'SELECT 1'",
      "CREATE TABLE reporting.scratch (x int)",
      "CREATE TABLE sales.scratch (x int)",
    ]) {
      expect([sql, await sqlstate(inWriteTransaction(tier, sql))]).toEqual([sql, "42501"]);
    }
  });

  it("cannot reach the server's files or other roles", async () => {
    for (const sql of [
      "SELECT lo_import('/etc/passwd')",
      "SELECT pg_read_file('/etc/passwd')",
      "SELECT pg_read_binary_file('/etc/passwd')",
      "SELECT pg_ls_dir('.')",
      "COPY (SELECT 1) TO '/tmp/gatehouse-roles-test'",
      "COPY (SELECT 1) TO PROGRAM 'true'",
      "SET ROLE postgres",
      `SET ROLE ${TIER_ROLES[tier === "writer" ? "reporting" : "writer"]}`,
    ]) {
      expect([sql, await sqlstate(inWriteTransaction(tier, sql))]).toEqual([sql, "42501"]);
    }
  });
});

describe("read tier: gatehouse_reporting", () => {
  it("reads the reporting views: revenue_summary has exactly 16 rows", async () => {
    expect(await count("reporting", "reporting.revenue_summary")).toBe(16);
    expect(await count("reporting", "reporting.pipeline_coverage")).toBe(16);
    expect(await count("reporting", "reporting.opportunities")).toBe(160);
  });

  it("reads the test aids", async () => {
    expect(await count("reporting", "reporting.numbered_rows")).toBe(1000);
    const { rows } = await session("reporting").query("SELECT count(*)::int AS n, min(length(payload)) AS min, max(length(payload)) AS max FROM reporting.wide_rows");
    expect(rows[0]).toEqual({ n: 100, min: 4096, max: 4096 });
    const client = session("reporting");
    await client.query("SET statement_timeout = '100ms'");
    try {
      expect(await sqlstate(client.query("SELECT * FROM reporting.slow_report"))).toBe("57014");
    } finally {
      await client.query("RESET statement_timeout");
    }
  });

  it("cannot read sales tables directly", async () => {
    for (const table of ["sales.opportunities", "sales.accounts", "sales.invoices", "sales.quotas"]) {
      expect([table, await sqlstate(session("reporting").query(`SELECT * FROM ${table}`))]).toEqual([table, "42501"]);
    }
  });

  it("cannot write", async () => {
    for (const sql of ["INSERT INTO sales.opportunities (id) VALUES (9999)", "UPDATE sales.opportunities SET stage = 'closed_won'", "DELETE FROM sales.opportunities"]) {
      expect([sql, await sqlstate(inWriteTransaction("reporting", sql))]).toEqual([sql, "42501"]);
    }
  });

  it("opens read-only transactions by default", async () => {
    expect(await sqlstate(session("reporting").query("SELECT lo_from_bytea(0, 'x')"))).toBe("25006");
  });
});

describe("sql tier: gatehouse_diagnostic", () => {
  it("reads reporting views and sales accounts, opportunities and invoices", async () => {
    expect(await count("diagnostic", "reporting.revenue_summary")).toBe(16);
    expect(await count("diagnostic", "sales.accounts")).toBe(40);
    expect(await count("diagnostic", "sales.opportunities")).toBe(160);
    expect(await count("diagnostic", "sales.invoices")).toBe(99);
  });

  it("cannot read quotas", async () => {
    expect(await sqlstate(session("diagnostic").query("SELECT * FROM sales.quotas"))).toBe("42501");
  });

  it("cannot write, even in a read-write transaction", async () => {
    for (const sql of [
      "INSERT INTO sales.accounts (id, name, industry, region, created_at) VALUES (999, 'x', 'x', 'x', now())",
      "UPDATE sales.opportunities SET stage = 'closed_won' WHERE id = 1",
      "DELETE FROM sales.invoices",
      "TRUNCATE sales.invoices",
      "SELECT 1 FROM sales.opportunities WHERE id = 1 FOR UPDATE",
    ]) {
      expect([sql, await sqlstate(inWriteTransaction("diagnostic", sql))]).toEqual([sql, "42501"]);
    }
  });
});

describe("write tier: gatehouse_writer", () => {
  const update = "UPDATE sales.opportunities SET stage = $1 WHERE id = $2 AND owner_email = $3 RETURNING id, stage";

  it("updates the stage of one opportunity", async () => {
    const result = await inWriteTransaction("writer", update, ["proposal", 8, "wes@example.com"]);
    expect(result.rows).toEqual([{ id: 8, stage: "proposal" }]);
  });

  it("is held to the stage CHECK", async () => {
    expect(await sqlstate(inWriteTransaction("writer", update, ["won", 8, "wes@example.com"]))).toBe("23514");
  });

  it("cannot update any other column, read other columns, insert or delete", async () => {
    for (const sql of [
      "UPDATE sales.opportunities SET amount = 1 WHERE id = 8",
      "UPDATE sales.opportunities SET owner_email = 'mallory@example.com' WHERE id = 8",
      "UPDATE sales.opportunities SET stage = 'proposal' WHERE id = 8 RETURNING amount",
      "SELECT * FROM sales.opportunities",
      "SELECT amount FROM sales.opportunities WHERE id = 8",
      "INSERT INTO sales.opportunities (id) VALUES (9999)",
      "DELETE FROM sales.opportunities WHERE id = 8",
      "TRUNCATE sales.opportunities",
      "SELECT * FROM sales.accounts",
      "SELECT * FROM reporting.revenue_summary",
    ]) {
      expect([sql, await sqlstate(inWriteTransaction("writer", sql))]).toEqual([sql, "42501"]);
    }
  });
});

describe("demo data", () => {
  it("has the contracted row counts", async () => {
    const { rows } = await superuser.query(
      `SELECT (SELECT count(*)::int FROM sales.accounts) AS accounts,
              (SELECT count(*)::int FROM sales.opportunities) AS opportunities,
              (SELECT count(*)::int FROM sales.invoices) AS invoices,
              (SELECT count(*)::int FROM sales.contacts) AS contacts,
              (SELECT count(*)::int FROM sales.quotas) AS quotas,
              (SELECT count(*)::int FROM secrets.api_tokens) AS api_tokens`,
    );
    expect(rows[0]).toEqual({
      accounts: 40,
      opportunities: 160,
      invoices: 99,
      contacts: 80,
      quotas: 16,
      api_tokens: 5,
    });
  });

  it("gives wes 20 opportunities (ids 8, 16, ..., 160), open and closed", async () => {
    const { rows } = await session("reporting").query<{ id: number; stage: string }>("SELECT id, stage FROM reporting.opportunities WHERE owner_email = $1 ORDER BY id", ["wes@example.com"]);
    expect(rows.map((row) => row.id)).toEqual(Array.from({ length: 20 }, (_, i) => 8 * (i + 1)));
    expect(new Set(rows.map((row) => row.stage))).toEqual(new Set(["prospecting", "proposal", "negotiation", "closed_won", "closed_lost"]));
  });

  it("is identical after another setup run", async () => {
    await superuser.query("UPDATE sales.opportunities SET stage = 'closed_lost' WHERE id = 1");
    await setupDatabase(superuserUrl, { database: DATABASE, passwords });
    const { rows } = await superuser.query<{ sum: string }>(OPPORTUNITIES_CHECKSUM);
    expect(rows[0]!.sum).toBe(firstChecksum);
    expect(firstChecksum).toBe("a6b5f8570ebd34132e3747f9c43c76d9");
  });

  // ALTER ROLE on oneself needs no privilege and outlives the session: only the guard keeps it from a tier role.
  it("another setup run repairs what a role may change about itself: session defaults and password", async () => {
    await session("writer").query("ALTER ROLE CURRENT_USER SET statement_timeout = 0");
    await session("writer").query("ALTER ROLE CURRENT_USER PASSWORD 'changed-by-the-role'");
    const drifted = await connect(TIER_ROLES.writer, "changed-by-the-role");
    expect((await drifted.query("SHOW statement_timeout")).rows[0]).toEqual({ statement_timeout: "0" });
    await drifted.end();

    await setupDatabase(superuserUrl, { database: DATABASE, passwords });

    expect(await sqlstate(connect(TIER_ROLES.writer, "changed-by-the-role"))).toBe("28P01");
    const repaired = await connect(TIER_ROLES.writer, passwords.writer);
    try {
      expect((await repaired.query("SHOW statement_timeout")).rows[0]).toEqual({ statement_timeout: "15s" });
    } finally {
      await repaired.end();
    }
  });
});

describe("the broker after a roles.sql run", () => {
  // A hand-made ADMIN OPTION on a tier that is not dynamic (and a login the broker gave that tier through it) must not
  // survive a run. The grant and the run share one transaction, so no other test file ever sees the wider broker.
  it("administers exactly the dynamic tier roles: ADMIN on another tier goes, with the memberships granted through it", async () => {
    const script = await readFile(new URL("../../postgres/roles.sql", import.meta.url), "utf8");
    const login = `gh_${randomBytes(8).toString("hex")}`;
    // local/setup-db.ts's lock, in the `postgres` database: no other setup run alters the roles meanwhile.
    const lock = await connect("postgres", decodeURIComponent(new URL(superuserUrl).password), "postgres");
    try {
      await lock.query("SELECT pg_advisory_lock($1)", [0x6761_7465_686f]);
      await superuser.query("BEGIN");
      await superuser.query(`GRANT ${TIER_ROLES.writer} TO ${BROKER_ROLE} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE`);
      await superuser.query(`CREATE ROLE ${login} NOLOGIN`);
      await superuser.query(`SET ROLE ${BROKER_ROLE}`);
      await superuser.query(`GRANT ${TIER_ROLES.writer} TO ${login}`);
      await superuser.query("RESET ROLE");
      // The script's own BEGIN is a no-op inside this transaction; its COMMIT ends it.
      await superuser.query(script);
    } finally {
      await superuser.query("ROLLBACK").catch(() => undefined);
      await lock.end();
    }
    try {
      const { rows } = await superuser.query(
        `SELECT r.rolname AS role, m.rolname AS member, am.admin_option, am.inherit_option, am.set_option
         FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
         WHERE r.rolname = ANY($1) AND m.rolname IN ($2, $3) ORDER BY 1, 2`,
        [Object.values(TIER_ROLES), BROKER_ROLE, login],
      );
      expect(rows).toEqual([{ role: TIER_ROLES.diagnostic, member: BROKER_ROLE, admin_option: true, inherit_option: false, set_option: false }]);
    } finally {
      await superuser.query(`DROP ROLE ${login}`);
    }
  });
});

// What the roles still allow, observed here: only the gateway (the guard's function denylist, one SelectStmt per
// execute_sql, named statements for the other tiers, read-only transactions) stands in the way. These tests pin the
// behaviour so that the documentation changes if Postgres or the hardening does.
describe("left to the guard", () => {
  it("advisory locks are available to every role", async () => {
    const other = await connect(TIER_ROLES.diagnostic, passwords.diagnostic);
    try {
      await session("diagnostic").query("SELECT pg_advisory_lock(4242)");
      expect((await other.query("SELECT pg_try_advisory_lock(4242) AS got")).rows[0]).toEqual({ got: false });
      await session("diagnostic").query("SELECT pg_advisory_unlock(4242)");
    } finally {
      await other.end();
    }
  });

  it("a role can cancel and terminate its own other sessions, not another role's", async () => {
    const victim = await connect(TIER_ROLES.diagnostic, passwords.diagnostic);
    try {
      const pid = (await victim.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const sleeping = sqlstate(victim.query("SELECT pg_sleep(5)"));
      await new Promise((done) => setTimeout(done, 100));
      expect(await sqlstate(session("reporting").query("SELECT pg_cancel_backend($1)", [pid]))).toBe("42501");
      const { rows } = await session("diagnostic").query("SELECT pg_cancel_backend($1) AS cancelled", [pid]);
      expect(rows[0]).toEqual({ cancelled: true });
      expect(await sleeping).toBe("57014");
      const terminated = await session("diagnostic").query("SELECT pg_terminate_backend($1) AS done", [pid]);
      expect(terminated.rows[0]).toEqual({ done: true });
    } finally {
      await victim.end().catch(() => undefined);
    }
  });

  it("a role sees the query text of its own other sessions only", async () => {
    const sibling = await connect(TIER_ROLES.diagnostic, passwords.diagnostic);
    try {
      const pids = [
        (await sibling.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid,
        (await session("reporting").query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid,
      ];
      const { rows } = await session("diagnostic").query<{ query: string }>("SELECT query FROM pg_stat_activity WHERE pid = ANY($1::int[]) ORDER BY array_position($1::int[], pid)", [pids]);
      expect(rows.map((row) => row.query)).toEqual(["SELECT pg_backend_pid() AS pid", "<insufficient privilege>"]);
    } finally {
      await sibling.end();
    }
  });

  it("a role can change its session settings, timeouts included, for the rest of the session", async () => {
    const client = session("reporting");
    await client.query("SELECT set_config('statement_timeout', '0', false)");
    await client.query("SET work_mem = '1GB'");
    expect((await client.query("SHOW statement_timeout")).rows[0]).toEqual({ statement_timeout: "0" });
    await client.query("RESET ALL");
    expect((await client.query("SHOW statement_timeout")).rows[0]).toEqual({ statement_timeout: "15s" });
  });

  it("a read-only default can be switched off by the role; privileges still hold", async () => {
    const client = session("diagnostic");
    await client.query("SET default_transaction_read_only = off");
    try {
      expect(await sqlstate(client.query("DELETE FROM sales.invoices"))).toBe("42501");
    } finally {
      await client.query("RESET default_transaction_read_only");
    }
  });

  it("notifications and large objects need no grant (the writer can create one)", async () => {
    expect(await sqlstate(session("reporting").query("SELECT pg_notify('gatehouse', 'x')"))).toBe("succeeded");
    expect(await sqlstate(inWriteTransaction("writer", "SELECT lo_from_bytea(0, 'x')"))).toBe("succeeded");
  });
});

// Postgres has no per-backend memory limit. The tier roles' work_mem, hash_mem_multiplier and temp_file_limit
// (postgres/roles.sql) bound sorts, hashes and temporary files; the guard bounds the functions that build large
// values (src/guard/sizes.ts). Peak memory is the backend's VmHWM (peak resident set, shared buffers it touched
// included), read from /proc: the test runs on the machine that runs the embedded cluster.
describe("sql tier: memory and temporary files (issue 16)", () => {
  const MiB = 1024 * 1024;

  /** Runs `sql` on a fresh gatehouse_diagnostic session; the SQLSTATE (or "succeeded") and the backend's peak memory. */
  async function measured(sql: string): Promise<{ outcome: string; peakBytes: number }> {
    const client = await connect(TIER_ROLES.diagnostic, passwords.diagnostic);
    try {
      const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const outcome = await sqlstate(client.query(sql));
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      return { outcome, peakBytes: Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) * 1024 };
    } finally {
      await client.end();
    }
  }

  async function admitted(sql: string): Promise<boolean> {
    const parsed = (await nodeSqlParser()).parse(sql);
    return parsed.ok && checkSelect(parsed.tree, { allowedRelations: [] }).ok;
  }

  it("runs with bounded work_mem and temp_file_limit, and cannot raise temp_file_limit", async () => {
    const { rows } = await session("diagnostic").query("SELECT current_setting('work_mem') AS work_mem, current_setting('hash_mem_multiplier') AS hash, current_setting('temp_file_limit') AS temp");
    expect(rows[0]).toEqual({ work_mem: "4MB", hash: "1", temp: "128MB" });
    expect(await sqlstate(session("diagnostic").query("SET temp_file_limit = -1"))).toBe("42501");
    expect(await sqlstate(inWriteTransaction("diagnostic", "ALTER ROLE CURRENT_USER SET temp_file_limit = -1"))).toBe("42501");
  });

  it("an ORDER BY over a huge series fails with 53400 at temp_file_limit instead of spilling until the timeout", async () => {
    const { outcome, peakBytes } = await measured("SELECT g FROM generate_series(1, 200000000) AS g ORDER BY md5(g::text) LIMIT 1");
    expect(outcome).toBe("53400");
    expect(peakBytes).toBeLessThan(64 * MiB);
  });

  it("a string doubled by a recursive CTE (which the guard admits) stops at temp_file_limit", async () => {
    const sql = "WITH RECURSIVE r(s) AS (SELECT 'x'::text UNION ALL SELECT s || s FROM r WHERE length(s) < 1000000000) SELECT max(length(s)) FROM r";
    expect(await admitted(sql)).toBe(true);
    const { outcome, peakBytes } = await measured(sql);
    expect(outcome).toBe("53400");
    // The working table spills to temporary files; the last value and its doubled copy stay in memory.
    expect(peakBytes).toBeLessThan(400 * MiB);
  });

  it("the issue's query is refused by the guard; the largest values the guard admits stay small", async () => {
    const hostile = "SELECT length(repeat(repeat('x',1000000),1000)) + length(repeat(repeat('y',1000000),1000)) + length(repeat(repeat('z',1000000),1000))";
    expect(await admitted(hostile)).toBe(false);
    for (const sql of [
      "SELECT length(repeat('x', 1000000))",
      "SELECT length(array_agg(lpad(g::text, 10, '0'))::text) FROM generate_series(1, 100000) AS g",
      "SELECT count(DISTINCT md5(g::text)) FROM generate_series(1, 1000000) AS g",
    ]) {
      expect([sql, await admitted(sql)]).toEqual([sql, true]);
      const { outcome, peakBytes } = await measured(sql);
      expect([sql, outcome]).toEqual([sql, "succeeded"]);
      expect(peakBytes, sql).toBeLessThan(64 * MiB);
    }
  });
});
