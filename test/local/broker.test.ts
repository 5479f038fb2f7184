// The dynamic-login broker against a real Postgres, as the broker itself (postgres/roles.sql, "Dynamic logins" and
// the broker's blast radius; docs/database-credentials.md). Runs on the local suite's cluster in a database of its
// own. The tier roles' passwords are left alone (test/local/roles.test.ts owns them): the tier roles are checked
// through SET ROLE from the superuser, the broker and its logins connect with their own passwords.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BROKER_ROLE, TIER_ROLES, brokerConnectionString, setupDatabase } from "../../local/setup-db";
import { ensureLogin } from "../../src/tools/broker";
import { revokeLogins, sweepLogins } from "../../src/tools/broker-admin";
import { executeAsLogin } from "../../src/tools/dynamic-execute";
import { loginConnectionString } from "../../src/tools/dynamic-login";
import { configureNeon, runReadOnly } from "../../src/tools/neon";

const DATABASE = "gatehouse_broker_test";
// local/setup-db.ts's lock (in the `postgres` database): held while a test changes a tier role's settings, which
// another file's setup run would reset meanwhile.
const SETUP_LOCK_KEY = 0x6761_7465_686f;
const TIER = TIER_ROLES.diagnostic;
const WORKSPACE = "demo";

const { superuserUrl, user: otherRole } = inject("neonHttp");
const superuserPassword = decodeURIComponent(new URL(superuserUrl).password);
const brokerPassword = randomBytes(18).toString("base64url");
let superuser: pg.Client;
let broker: pg.Client;
const opened: pg.Client[] = [];

beforeAll(async () => {
  await setupDatabase(superuserUrl, { database: DATABASE, brokerPassword, testAids: false });
  superuser = await connect("postgres", superuserPassword);
  broker = await connect(BROKER_ROLE, brokerPassword);
});

afterAll(async () => {
  await Promise.all([...opened].map((client) => client.end().catch(() => undefined)));
});

async function connect(user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: "127.0.0.1", port: Number(new URL(superuserUrl).port), database: DATABASE, user, password });
  client.on("error", () => undefined);
  await client.connect();
  opened.push(client);
  return client;
}

async function sqlstate(run: Promise<unknown>): Promise<string> {
  try {
    await run;
  } catch (error) {
    return (error as { code?: string }).code ?? "no SQLSTATE";
  }
  return "succeeded";
}

// RFC 5802 §3 / RFC 7677: the verifier Postgres stores, in its SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey> form.
function scramVerifier(password: string): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, 4096, 32, "sha256");
  const storedKey = createHash("sha256").update(createHmac("sha256", salted).update("Client Key").digest()).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$4096:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

interface Login {
  role: string;
  password: string;
  verifier: string;
  jtiHash: string;
  sessionId: string;
  principal: string;
  clientId: string;
}

function newLogin(overrides: Partial<Login> = {}): Login {
  const password = randomBytes(24).toString("base64url");
  return {
    role: `gh_${randomBytes(8).toString("hex")}`,
    password,
    verifier: scramVerifier(password),
    jtiHash: randomBytes(32).toString("hex"),
    sessionId: `session-${randomBytes(4).toString("hex")}`,
    principal: "dana@example.com",
    clientId: "client-1",
    ...overrides,
  };
}

interface EnsureOptions {
  tier?: string;
  validUntil?: Date;
  workspace?: string;
  client?: pg.Client;
}

async function ensure(login: Login, opts: EnsureOptions = {}): Promise<string> {
  const { rows } = await (opts.client ?? broker).query<{ result: string }>("SELECT gatehouse_broker.ensure_login($1, $2, $3, $4, $5, $6, $7, $8, $9) AS result", [
    login.role,
    login.verifier,
    opts.tier ?? TIER,
    opts.validUntil ?? new Date(Date.now() + 3_600_000),
    opts.workspace ?? WORKSPACE,
    login.principal,
    login.clientId,
    login.sessionId,
    login.jtiHash,
  ]);
  return rows[0]!.result;
}

async function revoke(kind: string, value: string, workspace = WORKSPACE): Promise<number> {
  const { rows } = await broker.query<{ n: number }>("SELECT gatehouse_broker.revoke_logins($1, $2, $3) AS n", [kind, value, workspace]);
  return rows[0]!.n;
}

async function sweep(grace: string): Promise<number> {
  const { rows } = await broker.query<{ n: number }>("SELECT gatehouse_broker.sweep_logins($1::interval) AS n", [grace]);
  return rows[0]!.n;
}

async function roleExists(role: string): Promise<boolean> {
  const { rows } = await superuser.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
  return rows.length === 1;
}

/** Starts `pg_sleep(seconds)` as `client` and resolves with its backend pid once pg_stat_activity shows it running. */
async function startSleeping(client: pg.Client, seconds: number): Promise<{ pid: number; done: Promise<string> }> {
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const pid = rows[0]!.pid;
  const done = sqlstate(client.query("SELECT pg_sleep($1)", [seconds]));
  for (;;) {
    const { rows: state } = await superuser.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND wait_event = 'PgSleep'", [pid]);
    if (state.length) return { pid, done };
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("ensure_login, as the broker", () => {
  it("creates a LOGIN that inherits its tier role without SET, with the tier's settings, VALID UNTIL and connection limit", async () => {
    const login = newLogin();
    const validUntil = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_660_000);
    expect(await ensure(login, { validUntil })).toBe("created");

    const { rows: attributes } = await superuser.query(
      `SELECT rolcanlogin, rolinherit, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil
       FROM pg_roles WHERE rolname = $1`,
      [login.role],
    );
    expect(attributes).toEqual([
      {
        rolcanlogin: true,
        rolinherit: true,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
        rolconnlimit: 10,
        rolvaliduntil: validUntil,
      },
    ]);
    const { rows: memberships } = await superuser.query(
      `SELECT r.rolname AS role, m.rolname AS member, am.admin_option, am.inherit_option, am.set_option
       FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
       WHERE $1 IN (r.rolname, m.rolname) ORDER BY 1`,
      [login.role],
    );
    expect(memberships).toEqual([
      { role: TIER, member: login.role, admin_option: false, inherit_option: true, set_option: false },
      // The broker's automatic ADMIN OPTION on a role it created: no privileges of the login, no SET ROLE to it.
      { role: login.role, member: BROKER_ROLE, admin_option: true, inherit_option: false, set_option: false },
    ]);
    const { rows: settings } = await superuser.query(`SELECT s.setdatabase, s.setconfig FROM pg_db_role_setting s WHERE s.setrole = to_regrole($1) ORDER BY 1`, [login.role]);
    const { rows: tierSettings } = await superuser.query(`SELECT s.setdatabase, s.setconfig FROM pg_db_role_setting s WHERE s.setrole = to_regrole($1) ORDER BY 1`, [TIER]);
    expect(settings).toEqual(tierSettings);
    expect(settings[0].setconfig).toEqual(expect.arrayContaining(["statement_timeout=15s", "temp_file_limit=128MB", "default_transaction_read_only=on", "work_mem=4MB"]));

    const session = await connect(login.role, login.password);
    const { rows: shown } = await session.query(
      "SELECT current_setting('statement_timeout') AS st, current_setting('temp_file_limit') AS tfl, current_setting('default_transaction_read_only') AS ro, (SELECT count(*)::int FROM sales.accounts) > 0 AS reads",
    );
    expect(shown).toEqual([{ st: "15s", tfl: "128MB", ro: "on", reads: true }]);
    expect(await sqlstate(session.query(`SET ROLE ${TIER}`))).toBe("42501");
    // The tier role's own limits still hold: quotas are not granted to the sql tier.
    expect(await sqlstate(session.query("SELECT * FROM sales.quotas"))).toBe("42501");

    const { rows: ledger } = await superuser.query(
      "SELECT tier_role, workspace, principal, client_id, session_id, jti_hash, expires_at, revoked_at FROM gatehouse_broker.dynamic_logins WHERE role = $1",
      [login.role],
    );
    expect(ledger).toEqual([
      { tier_role: TIER, workspace: WORKSPACE, principal: login.principal, client_id: login.clientId, session_id: login.sessionId, jti_hash: login.jtiHash, expires_at: validUntil, revoked_at: null },
    ]);
  });

  it("copies a search_path the tier role has in this database, element by element", async () => {
    const lock = await connect("postgres", superuserPassword);
    await lock.query("SELECT pg_advisory_lock($1)", [SETUP_LOCK_KEY]);
    try {
      await superuser.query(`ALTER ROLE ${TIER} IN DATABASE ${DATABASE} SET search_path = 'odd "name", really', '$user', sales`);
      const login = newLogin();
      expect(await ensure(login)).toBe("created");
      const session = await connect(login.role, login.password);
      const { rows } = await session.query("SELECT current_setting('search_path') AS path, array_to_string(current_schemas(false), ',') AS schemas");
      expect(rows).toEqual([{ path: `"odd ""name"", really", "$user", sales`, schemas: "sales" }]);
    } finally {
      await superuser.query(`ALTER ROLE ${TIER} IN DATABASE ${DATABASE} RESET search_path`);
      await lock.end();
    }
  });

  it("50 concurrent first calls for one name create exactly one role, and every call succeeds", async () => {
    const login = newLogin();
    const clients = await Promise.all(Array.from({ length: 50 }, () => connect(BROKER_ROLE, brokerPassword)));
    try {
      const results = await Promise.all(clients.map((client) => ensure(login, { client })));
      expect(results.filter((r) => r === "created")).toHaveLength(1);
      expect(results.filter((r) => r === "exists")).toHaveLength(49);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    const { rows } = await superuser.query("SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1", [login.role]);
    expect(rows[0].n).toBe(1);
    await connect(login.role, login.password);
  });

  it("reports a revoked login as 'revoked' and never enables it again", async () => {
    const login = newLogin();
    expect(await ensure(login)).toBe("created");
    expect(await revoke("token", login.jtiHash)).toBe(1);
    expect(await ensure(login)).toBe("revoked");
    expect(await ensure({ ...login, verifier: scramVerifier("another password") })).toBe("revoked");
    const { rows } = await superuser.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", [login.role]);
    expect(rows).toEqual([{ rolcanlogin: false }]);
    expect(await sqlstate(connect(login.role, login.password))).toBe("28000");
    // Gone from pg_roles but still in the ledger (an operator dropped it): still not remade.
    await superuser.query(`DROP ROLE ${login.role}`);
    expect(await ensure(login)).toBe("revoked");
    expect(await roleExists(login.role)).toBe(false);
  });

  it("sets the password of an existing login again (a rotated key), and the login then connects with it", async () => {
    const login = newLogin();
    expect(await ensure(login)).toBe("created");
    const rotated = { ...login, password: "rotated-password", verifier: scramVerifier("rotated-password") };
    expect(await ensure(rotated)).toBe("exists");
    expect(await sqlstate(connect(login.role, login.password))).toBe("28P01");
    await connect(login.role, rotated.password);
  });

  it("refuses names, passwords, tier roles and lifetimes it was not made for (42501), and creates nothing", async () => {
    const ok = newLogin();
    const madeByBroker = newLogin();
    expect(await ensure(madeByBroker)).toBe("created");
    const refused: Array<[string, Login, EnsureOptions]> = [
      ["uppercase hex", { ...ok, role: "gh_00000000000000AA" }, {}],
      ["17 hex digits", { ...ok, role: "gh_00000000000000001" }, {}],
      ["another prefix", { ...ok, role: "gatehouse_x" }, {}],
      ["an existing role", { ...ok, role: "postgres" }, {}],
      ["a quote", { ...ok, role: `gh_0000000000000000"; DROP ROLE postgres; --` }, {}],
      ["a plain password", { ...ok, verifier: "hunter2hunter2" }, {}],
      ["an md5 password", { ...ok, verifier: `md5${"0".repeat(32)}` }, {}],
      ["a malformed verifier", { ...ok, verifier: "SCRAM-SHA-256$4096:abc" }, {}],
      ["a verifier with a quote", { ...ok, verifier: "SCRAM-SHA-256$4096:YQ==$YQ==:YQ=='" }, {}],
      // Shaped like a verifier, but its keys are not 32 bytes: Postgres would store it as a plain password (hashing
      // it), so the string the broker was sent, and a statement log shows, would log in.
      ["a verifier with short keys", { ...ok, verifier: "SCRAM-SHA-256$4096:AAAA$AAAA:AAAA" }, {}],
      ["a verifier with a 33-byte key", { ...ok, verifier: ok.verifier.replace(/:([^:]+)$/, ":$1AAAA") }, {}],
      ["a verifier without iterations", { ...ok, verifier: ok.verifier.replace("$4096:", "$0:") }, {}],
      ["pg_read_all_data as tier", ok, { tier: "pg_read_all_data" }],
      ["pg_signal_backend as tier", ok, { tier: "pg_signal_backend" }],
      ["a non-Gatehouse role as tier", ok, { tier: otherRole }],
      ["a superuser as tier", ok, { tier: "postgres" }],
      ["the broker as tier", ok, { tier: BROKER_ROLE }],
      ["a login it made as tier", ok, { tier: madeByBroker.role }],
      ["VALID UNTIL two days ahead", ok, { validUntil: new Date(Date.now() + 2 * 86_400_000) }],
    ];
    for (const [what, login, opts] of refused) {
      expect([what, await sqlstate(ensure(login, opts))]).toEqual([what, "42501"]);
    }
    expect(await roleExists(ok.role)).toBe(false);

    // A gh_ role the broker did not make is neither adopted nor changed.
    const foreign = newLogin();
    await superuser.query(`CREATE ROLE ${foreign.role} NOLOGIN`);
    try {
      expect(await sqlstate(ensure(foreign))).toBe("42501");
      const { rows } = await superuser.query("SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = $1", [foreign.role]);
      expect(rows).toEqual([{ rolcanlogin: false, rolpassword: null }]);
    } finally {
      await superuser.query(`DROP ROLE ${foreign.role}`);
    }
  });
});

describe("revoke_logins", () => {
  it("makes the matching logins NOLOGIN and terminates their running queries; others keep running", async () => {
    const target = newLogin();
    const sameSessionOtherWorkspace = newLogin({ sessionId: target.sessionId });
    const otherSession = newLogin();
    expect(await ensure(target)).toBe("created");
    expect(await ensure(sameSessionOtherWorkspace, { workspace: "other" })).toBe("created");
    expect(await ensure(otherSession)).toBe("created");
    const victim = await startSleeping(await connect(target.role, target.password), 10);
    const bystander = await startSleeping(await connect(otherSession.role, otherSession.password), 10);

    const started = performance.now();
    expect(await revoke("session", target.sessionId)).toBe(1);
    const revokedMs = performance.now() - started;
    expect(await victim.done).toBe("57P01");
    const terminatedMs = performance.now() - started;
    console.log(`revoke_logins returned after ${revokedMs.toFixed(1)} ms; the running query ended (57P01) after ${terminatedMs.toFixed(1)} ms`);
    expect(terminatedMs).toBeLessThan(1000);

    expect(await sqlstate(connect(target.role, target.password))).toBe("28000");
    await connect(sameSessionOtherWorkspace.role, sameSessionOtherWorkspace.password);
    const { rows } = await superuser.query("SELECT state FROM pg_stat_activity WHERE pid = $1", [bystander.pid]);
    expect(rows).toEqual([{ state: "active" }]);
    await superuser.query("SELECT pg_cancel_backend($1)", [bystander.pid]);
    expect(await bystander.done).toBe("57014");
    // The broker holds no INHERIT membership in the login after the call.
    const { rows: held } = await superuser.query("SELECT count(*)::int AS n FROM pg_auth_members WHERE roleid = to_regrole($1) AND member = to_regrole($2) AND inherit_option", [
      target.role,
      BROKER_ROLE,
    ]);
    expect(held[0].n).toBe(0);
    expect(await revoke("session", target.sessionId)).toBe(0);
  });

  it("matches by principal, client or token within the workspace", async () => {
    const byPrincipal = newLogin({ principal: `p-${randomBytes(4).toString("hex")}@example.com` });
    const byClient = newLogin({ clientId: `client-${randomBytes(4).toString("hex")}` });
    const byToken = newLogin();
    for (const login of [byPrincipal, byClient, byToken]) expect(await ensure(login)).toBe("created");
    expect(await revoke("principal", byPrincipal.principal, "other")).toBe(0);
    expect(await revoke("principal", byPrincipal.principal)).toBe(1);
    expect(await revoke("client", byClient.clientId)).toBe(1);
    expect(await revoke("token", byToken.jtiHash)).toBe(1);
    const { rows } = await superuser.query("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1", [[byPrincipal.role, byClient.role, byToken.role]]);
    expect(rows.every((row) => row.rolcanlogin === false)).toBe(true);
    expect(await sqlstate(revoke("user", "x"))).toBe("22023");
  });
});

describe("sweep_logins", () => {
  it("terminates and drops logins expired longer than the grace, revoked or not, and leaves the others", async () => {
    const now = Date.now();
    const expired = newLogin();
    const expiredRevoked = newLogin();
    const withinGrace = newLogin();
    const live = newLogin();
    const connected = newLogin();
    expect(await ensure(expired, { validUntil: new Date(now - 120_000) })).toBe("created");
    expect(await ensure(expiredRevoked, { validUntil: new Date(now - 120_000) })).toBe("created");
    expect(await revoke("token", expiredRevoked.jtiHash)).toBe(1);
    expect(await ensure(withinGrace, { validUntil: new Date(now - 30_000) })).toBe("created");
    expect(await ensure(live)).toBe("created");
    expect(await ensure(connected)).toBe("created");
    // A session that logged in before its VALID UNTIL passed keeps running until the sweep ends it.
    const running = await startSleeping(await connect(connected.role, connected.password), 10);
    await superuser.query(`ALTER ROLE ${connected.role} VALID UNTIL '${new Date(now - 120_000).toISOString()}'`);
    // A gh_ role made by the broker with no ledger row, and one the broker did not make: only the first is its own.
    const orphan = `gh_${randomBytes(8).toString("hex")}`;
    const foreign = `gh_${randomBytes(8).toString("hex")}`;
    await broker.query(`CREATE ROLE ${orphan} NOLOGIN VALID UNTIL '${new Date(now - 120_000).toISOString()}'`);
    await superuser.query(`CREATE ROLE ${foreign} NOLOGIN VALID UNTIL '${new Date(now - 120_000).toISOString()}'`);

    expect(await sweep("60 seconds")).toBeGreaterThanOrEqual(4);
    expect(await running.done).toBe("57P01");
    for (const role of [expired.role, expiredRevoked.role, connected.role, orphan]) expect([role, await roleExists(role)]).toEqual([role, false]);
    for (const role of [withinGrace.role, live.role, foreign]) expect([role, await roleExists(role)]).toEqual([role, true]);
    const { rows } = await superuser.query("SELECT role FROM gatehouse_broker.dynamic_logins WHERE role = ANY($1) ORDER BY 1", [
      [expired.role, expiredRevoked.role, connected.role, withinGrace.role, live.role],
    ]);
    expect(rows.map((row) => row.role)).toEqual([withinGrace.role, live.role].sort());
    expect(await sweep("0 seconds")).toBeGreaterThanOrEqual(1);
    expect(await roleExists(withinGrace.role)).toBe(false);
    expect(await roleExists(foreign)).toBe(true);
    await superuser.query(`DROP ROLE ${foreign}`);
    // A negative grace judges by a clock that is ahead (the gateway's, moved by POST /dev/clock in development).
    const soon = newLogin();
    expect(await ensure(soon, { validUntil: new Date(Date.now() + 30_000) })).toBe("created");
    await sweep("-60 seconds");
    expect(await roleExists(soon.role)).toBe(false);
    expect(await sqlstate(broker.query("SELECT gatehouse_broker.sweep_logins(NULL)"))).toBe("22023");
  });

  it("two overlapping sweeps (a cron run outlasting its minute) both succeed: the second skips what the first dropped", async () => {
    const expired = [newLogin(), newLogin(), newLogin()];
    for (const login of expired) expect(await ensure(login, { validUntil: new Date(Date.now() - 120_000) })).toBe("created");
    const first = await connect(BROKER_ROLE, brokerPassword);
    const second = await connect(BROKER_ROLE, brokerPassword);
    const { rows } = await second.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    await first.query("BEGIN");
    try {
      expect((await first.query<{ n: number }>("SELECT gatehouse_broker.sweep_logins('60 seconds') AS n")).rows[0]!.n).toBeGreaterThanOrEqual(3);
      // The second sweep chose the same logins and waits for the first one's lock on them.
      const overlapping = sqlstate(second.query("SELECT gatehouse_broker.sweep_logins('60 seconds')"));
      for (;;) {
        const { rows: waiting } = await superuser.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [rows[0]!.pid]);
        if (waiting.length) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await first.query("COMMIT");
      expect(await overlapping).toBe("succeeded");
    } finally {
      await first.query("ROLLBACK").catch(() => undefined);
    }
    for (const login of expired) expect([login.role, await roleExists(login.role)]).toEqual([login.role, false]);
  });

  it("drops an expired login even behind 500 older ones it cannot drop (they own objects in another database)", async () => {
    // DROP OWNED reaches only this database, so such a login stays (a WARNING each run); it must not hold one of the
    // 500 places of every later sweep, or nothing expired after it is ever dropped.
    const old = new Date(Date.now() - 7_200_000).toISOString();
    const stuck = Array.from({ length: 500 }, () => `gh_${randomBytes(8).toString("hex")}`);
    const elsewhere = new pg.Client({ connectionString: superuserUrl });
    elsewhere.on("error", () => undefined);
    await elsewhere.connect();
    try {
      await broker.query(stuck.map((role) => `CREATE ROLE ${role} NOLOGIN VALID UNTIL '${old}';`).join("\n"));
      await elsewhere.query(stuck.map((role) => `ALTER DEFAULT PRIVILEGES FOR ROLE ${role} GRANT SELECT ON TABLES TO PUBLIC;`).join("\n"));
      const expired = newLogin();
      expect(await ensure(expired, { validUntil: new Date(Date.now() - 120_000) })).toBe("created");
      expect(await sweep("60 seconds")).toBeGreaterThanOrEqual(1);
      expect(await roleExists(expired.role)).toBe(false);
      expect(await roleExists(stuck[0]!)).toBe(true);
    } finally {
      await elsewhere.query(`DROP OWNED BY ${stuck.join(", ")}`);
      await elsewhere.end();
      await sweep("60 seconds");
    }
    for (const role of stuck.slice(0, 3)) expect([role, await roleExists(role)]).toEqual([role, false]);
  });
});

describe("the broker's limits (PostgreSQL 16+ CREATEROLE), tried as the broker", () => {
  let login: Login;

  beforeAll(async () => {
    login = newLogin();
    expect(await ensure(login)).toBe("created");
  });

  it("cannot create a superuser or a role with REPLICATION, BYPASSRLS or CREATEDB", async () => {
    for (const attribute of ["SUPERUSER", "REPLICATION", "BYPASSRLS", "CREATEDB"]) {
      const role = `gh_${randomBytes(8).toString("hex")}`;
      expect([attribute, await sqlstate(broker.query(`CREATE ROLE ${role} ${attribute}`))]).toEqual([attribute, "42501"]);
    }
  });

  it("cannot grant a role it does not administer, to a login it made or to itself", async () => {
    for (const granted of ["pg_read_all_data", "pg_signal_backend", "pg_monitor", otherRole]) {
      for (const grantee of [login.role, BROKER_ROLE]) {
        expect([granted, grantee, await sqlstate(broker.query(`GRANT ${granted} TO ${grantee}`))]).toEqual([granted, grantee, "42501"]);
      }
    }
  });

  it("administers only the dynamic tier role: cannot grant another tier role, alter it, or make a login of it (42501)", async () => {
    const { rows } = await superuser.query(
      `SELECT r.rolname FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid
       WHERE am.member = to_regrole($1) AND am.admin_option AND r.rolname = ANY($2) ORDER BY 1`,
      [BROKER_ROLE, Object.values(TIER_ROLES)],
    );
    expect(rows.map((row) => row.rolname)).toEqual([TIER]);
    // Each attempt in a transaction rolled back, so that a broker that could (before the fix) changes nothing.
    const attempt = async (run: () => Promise<unknown>): Promise<string> => {
      await broker.query("BEGIN");
      try {
        return await sqlstate(run());
      } finally {
        await broker.query("ROLLBACK");
      }
    };
    const fresh = `gh_${randomBytes(8).toString("hex")}`;
    await broker.query(`CREATE ROLE ${fresh} NOLOGIN`);
    try {
      for (const tier of [TIER_ROLES.reporting, TIER_ROLES.writer]) {
        for (const statement of [
          `GRANT ${tier} TO ${BROKER_ROLE}`,
          `GRANT ${tier} TO ${fresh}`,
          `GRANT ${tier} TO ${login.role}`,
          `ALTER ROLE ${tier} PASSWORD 'taken'`,
          `ALTER ROLE ${tier} CONNECTION LIMIT 1`,
        ]) {
          expect([statement, await attempt(() => broker.query(statement))]).toEqual([statement, "42501"]);
        }
        const other = newLogin();
        expect([tier, await attempt(() => ensure(other, { tier }))]).toEqual([tier, "42501"]);
        expect(await roleExists(other.role)).toBe(false);
      }
    } finally {
      await broker.query(`DROP ROLE ${fresh}`);
    }
  });

  it("cannot alter, drop or set the password of a role that is not Gatehouse's, nor change its own attributes", async () => {
    const statements = [
      `ALTER ROLE ${otherRole} PASSWORD 'taken'`,
      `ALTER ROLE ${otherRole} NOLOGIN`,
      `ALTER ROLE ${otherRole} SET statement_timeout = 0`,
      `ALTER ROLE ${otherRole} RENAME TO gh_0000000000000000`,
      `DROP ROLE ${otherRole}`,
      "ALTER ROLE postgres PASSWORD 'taken'",
      `ALTER ROLE ${BROKER_ROLE} CREATEDB`,
      `ALTER ROLE ${BROKER_ROLE} INHERIT`,
      `ALTER ROLE ${BROKER_ROLE} BYPASSRLS`,
    ];
    for (const statement of statements) expect([statement, await sqlstate(broker.query(statement))]).toEqual([statement, "42501"]);
  });

  it("reads no application data and creates nothing outside its schema in its own session", async () => {
    for (const statement of [
      "SELECT count(*) FROM sales.accounts",
      "SELECT count(*) FROM reporting.revenue_summary",
      "CREATE TEMPORARY TABLE t (n int)",
      "CREATE SCHEMA mine",
      "CREATE TABLE public.t (n int)",
    ]) {
      expect([statement, await sqlstate(broker.query(statement))]).toEqual([statement, "42501"]);
    }
  });

  it("cannot terminate or cancel a backend of a role it did not make", async () => {
    const other = await connect(otherRole, inject("neonHttp").password);
    const pid = (await other.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    expect(await sqlstate(broker.query("SELECT pg_terminate_backend($1)", [pid]))).toBe("42501");
    expect(await sqlstate(broker.query("SELECT pg_cancel_backend($1)", [pid]))).toBe("42501");
  });
});

describe("the broker's schema, from the tier role and from a login", () => {
  const calls = [
    `SELECT gatehouse_broker.ensure_login('gh_0000000000000000', 'SCRAM-SHA-256$4096:YQ==$YQ==:YQ==', '${TIER}', now(), 'w', 'p', 'c', 's', repeat('0', 64))`,
    "SELECT gatehouse_broker.revoke_logins('principal', 'dana@example.com', 'demo')",
    "SELECT gatehouse_broker.sweep_logins('0 seconds')",
    "SELECT * FROM gatehouse_broker.dynamic_logins",
  ];

  it("a tier role can neither execute the functions nor read the ledger", async () => {
    const session = await connect("postgres", superuserPassword);
    for (const tier of Object.values(TIER_ROLES)) {
      await session.query(`SET ROLE ${tier}`);
      for (const call of calls) expect([tier, call, await sqlstate(session.query(call))]).toEqual([tier, call, "42501"]);
      await session.query("RESET ROLE");
    }
    const { rows } = await superuser.query(
      `SELECT r.rolname, p.proname FROM pg_proc p CROSS JOIN pg_roles r
       WHERE p.pronamespace = 'gatehouse_broker'::regnamespace AND r.rolname = ANY($1) AND has_function_privilege(r.oid, p.oid, 'EXECUTE')`,
      [[...Object.values(TIER_ROLES), "public"]],
    );
    expect(rows).toEqual([]);
  });

  it("a login can neither execute the functions nor read the ledger", async () => {
    const login = newLogin();
    expect(await ensure(login)).toBe("created");
    const session = await connect(login.role, login.password);
    for (const call of calls) expect([call, await sqlstate(session.query(call))]).toEqual([call, "42501"]);
  });
});

describe("between two logins of one tier", () => {
  it("one cannot see the other's query text nor cancel or terminate its backend", async () => {
    const alice = newLogin({ principal: "alice@example.com" });
    const dana = newLogin();
    for (const login of [alice, dana]) expect(await ensure(login)).toBe("created");
    const danaSession = await connect(dana.role, dana.password);
    const aliceSession = await connect(alice.role, alice.password);
    const running = await startSleeping(danaSession, 10);

    const { rows } = await aliceSession.query("SELECT usename, query FROM pg_stat_activity WHERE pid = $1", [running.pid]);
    expect(rows).toEqual([{ usename: dana.role, query: "<insufficient privilege>" }]);
    expect(await sqlstate(aliceSession.query("SELECT pg_cancel_backend($1)", [running.pid]))).toBe("42501");
    expect(await sqlstate(aliceSession.query("SELECT pg_terminate_backend($1)", [running.pid]))).toBe("42501");
    const { rows: still } = await superuser.query("SELECT state, query FROM pg_stat_activity WHERE pid = $1", [running.pid]);
    expect(still).toEqual([{ state: "active", query: "SELECT pg_sleep($1)" }]);
    await superuser.query("SELECT pg_cancel_backend($1)", [running.pid]);
    expect(await running.done).toBe("57014");
  });
});

describe("the Worker's adapters (src/tools/broker-admin.ts) through the local Neon endpoint", () => {
  it("revokeLogins revokes by token and sweepLogins drops with a grace in seconds; a wrong broker password is a db_error", async () => {
    configureNeon(inject("neonHttp").endpointUrl);
    const url = brokerConnectionString(brokerPassword, DATABASE);
    const login = newLogin();
    expect(await ensure(login)).toBe("created");
    expect(await revokeLogins(url, { kind: "token", value: login.jtiHash, workspace: WORKSPACE }, 5000)).toEqual({ ok: true, count: 1 });
    expect(await revokeLogins(url, { kind: "token", value: login.jtiHash, workspace: WORKSPACE }, 5000)).toEqual({ ok: true, count: 0 });
    const expired = newLogin();
    expect(await ensure(expired, { validUntil: new Date(Date.now() - 90_000) })).toBe("created");
    const swept = await sweepLogins(url, 60, 5000);
    expect(swept.ok && swept.count >= 1).toBe(true);
    expect(await roleExists(expired.role)).toBe(false);
    expect(await roleExists(login.role)).toBe(true);
    expect(await sweepLogins(brokerConnectionString("wrong-password", DATABASE), 60, 5000)).toEqual({ ok: false, kind: "db_error", sqlstate: "28P01" });
  });

  it("a call on a dynamic credential whose tier role the broker does not administer fails as login_failed (42501), creating nothing", async () => {
    configureNeon(inject("neonHttp").endpointUrl);
    const brokerUrl = brokerConnectionString(brokerPassword, DATABASE);
    const call = (login: Login, tierRole: string) =>
      executeAsLogin({
        run: () => runReadOnly(loginConnectionString(brokerUrl, login.role, login.password)!, { text: "SELECT 1", params: [] }, 5000, Date.now),
        ensure: () =>
          ensureLogin(
            brokerUrl,
            {
              role: login.role,
              verifier: login.verifier,
              tierRole,
              validUntil: Math.floor(Date.now() / 1000) + 3600,
              workspace: WORKSPACE,
              principal: login.principal,
              clientId: login.clientId,
              sessionId: login.sessionId,
              jtiHash: login.jtiHash,
            },
            5000,
          ),
        now: Date.now,
      });
    for (const tierRole of [TIER_ROLES.reporting, TIER_ROLES.writer]) {
      const login = newLogin();
      expect([tierRole, await call(login, tierRole)]).toMatchObject([tierRole, { ok: false, kind: "login_failed", sqlstate: "42501" }]);
      expect(await roleExists(login.role)).toBe(false);
    }
    // The dynamic tier on the same path: created on the first call, then the statement runs.
    expect(await call(newLogin(), TIER)).toMatchObject({ ok: true });
  });
});
