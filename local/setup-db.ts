// Prepares a database for the dev stack and tests: role hardening, demo schema and data, test aids, role passwords
// (docs/security.md "Postgres role hardening", §9). Contract:
// - needs a superuser URL (the embedded cluster's); creates the database if it is missing;
// - applies postgres/roles.sql, postgres/demo.sql and, unless testAids is false, postgres/test-aids.sql, each in
//   its own transaction; re-running resets the demo data and repairs role drift;
// - setups sharing a cluster are serialised (roles are cluster-wide, and concurrent ALTER ROLE fails);
// - passwords never reach the server or a log: it receives a SCRAM-SHA-256 verifier computed here, and only
//   when the stored verifier does not already match the password.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import pg from "pg";

export interface RolePasswords {
  reporting: string;
  diagnostic: string;
  writer: string;
}

export interface SetupDatabaseOptions {
  database: string;
  /** The tier roles' passwords; without them the tier roles keep theirs (a test that must not change them). */
  passwords?: RolePasswords;
  /** The broker login's password (dynamic database credentials, docs/database-credentials.md); kept when omitted. */
  brokerPassword?: string;
  /** Apply postgres/test-aids.sql (slow, wide and numbered views). Default true. */
  testAids?: boolean;
}

/** The Postgres role behind each tier's credential. */
export const TIER_ROLES = {
  reporting: "gatehouse_reporting",
  diagnostic: "gatehouse_diagnostic",
  writer: "gatehouse_writer",
} as const satisfies Record<keyof RolePasswords, string>;

/** The login that creates, revokes and drops the per-token database logins (postgres/roles.sql). */
export const BROKER_ROLE = "gatehouse_broker";

const TIERS = Object.keys(TIER_ROLES) as (keyof RolePasswords)[];
const SQL_DIR = new URL("../postgres/", import.meta.url);
// Key of the session-level advisory lock (taken in the `postgres` database) that serialises setups.
const SETUP_LOCK_KEY = 0x6761_7465_686f;
const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
const SCRAM_ITERATIONS = 4096;

const sqlFiles = new Map<string, Promise<string>>();

export async function setupDatabase(superuserUrl: string, opts: SetupDatabaseOptions): Promise<void> {
  const { database } = opts;
  if (!DATABASE_NAME.test(database)) throw new Error(`database name must match ${DATABASE_NAME}`);
  const passwords = new Map<string, string>();
  if (opts.passwords) for (const tier of TIERS) passwords.set(TIER_ROLES[tier], opts.passwords[tier]);
  if (opts.brokerPassword !== undefined) passwords.set(BROKER_ROLE, opts.brokerPassword);
  for (const [role, password] of passwords) {
    // Printable ASCII is left unchanged by SASLprep, so the verifier computed here is the one Postgres expects.
    if (typeof password !== "string" || !PRINTABLE_ASCII.test(password)) throw new Error(`the password of ${role} must be printable ASCII`);
  }
  const files = ["roles.sql", "demo.sql", ...(opts.testAids === false ? [] : ["test-aids.sql"])];
  const scripts = Promise.all(files.map(sqlFile));
  scripts.catch(() => undefined);

  const admin = await connect(superuserUrl, "postgres");
  try {
    // Released when this session ends, whatever happens below.
    await admin.query("SELECT pg_advisory_lock($1)", [SETUP_LOCK_KEY]);
    await createDatabaseIfMissing(admin, database);
    const target = await connect(superuserUrl, database);
    try {
      for (const script of await scripts) await target.query(script);
      await setPasswords(target, passwords);
    } finally {
      await target.end();
    }
  } finally {
    await admin.end();
  }
}

/** The broker's connection string for the Neon HTTP driver (the secret of a credential in dynamic mode). */
export function brokerConnectionString(password: string, database: string): string {
  return `postgresql://${BROKER_ROLE}:${encodeURIComponent(password)}@localhost/${encodeURIComponent(database)}`;
}

/**
 * A tier's connection string for the Neon HTTP driver: it requires a domain name as host, and the local
 * endpoint ignores the host and connects to its own Postgres.
 */
export function roleConnectionString(tier: keyof RolePasswords, password: string, database: string): string {
  return `postgresql://${TIER_ROLES[tier]}:${encodeURIComponent(password)}@localhost/${encodeURIComponent(database)}`;
}

function sqlFile(name: string): Promise<string> {
  let text = sqlFiles.get(name);
  if (!text) {
    text = readFile(new URL(name, SQL_DIR), "utf8");
    sqlFiles.set(name, text);
    text.catch(() => sqlFiles.delete(name));
  }
  return text;
}

async function connect(superuserUrl: string, database: string): Promise<pg.Client> {
  const url = new URL(superuserUrl);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.href });
  // A server-side error while connected must reject the pending query, not crash the process.
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

async function createDatabaseIfMissing(admin: pg.Client, database: string): Promise<void> {
  const found = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
  if (found.rowCount) return;
  // CREATE DATABASE takes no parameters and cannot run in a function: quote the name server-side.
  const { rows } = await admin.query<{ sql: string }>("SELECT format('CREATE DATABASE %I', $1::text) AS sql", [database]);
  try {
    await admin.query(rows[0]!.sql);
  } catch (error) {
    // Created meanwhile by something that does not take the setup lock.
    if ((error as { code?: string }).code !== "42P04") throw error;
  }
}

async function setPasswords(client: pg.Client, passwords: Map<string, string>): Promise<void> {
  if (passwords.size === 0) return;
  const { rows } = await client.query<{ rolname: string; rolpassword: string | null }>("SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1::text[])", [[...passwords.keys()]]);
  const stored = new Map(rows.map((row) => [row.rolname, row.rolpassword]));
  for (const [role, password] of passwords) {
    if (scramMatches(stored.get(role) ?? null, password)) continue;
    // ALTER ROLE takes no parameters: quote server-side. The statement carries a verifier, not the password.
    const { rows: alter } = await client.query<{ sql: string }>("SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text) AS sql", [
      role,
      scramVerifier(password, randomBytes(16), SCRAM_ITERATIONS),
    ]);
    await client.query(alter[0]!.sql);
  }
}

// RFC 5802 / RFC 7677 verifier in Postgres' format: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
function scramVerifier(password: string, salt: Buffer, iterations: number): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const storedKey = createHash("sha256").update(createHmac("sha256", salted).update("Client Key").digest()).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  const [salt64, stored64, server64] = [salt, storedKey, serverKey].map((bytes) => bytes.toString("base64"));
  return `SCRAM-SHA-256$${iterations}:${salt64}$${stored64}:${server64}`;
}

function scramMatches(stored: string | null, password: string): boolean {
  const match = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.exec(stored ?? "");
  if (!match) return false;
  const expected = Buffer.from(scramVerifier(password, Buffer.from(match[2]!, "base64"), Number(match[1])));
  const actual = Buffer.from(stored!);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
