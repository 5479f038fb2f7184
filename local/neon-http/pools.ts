// One pg.Pool per distinct (user, password, database, startup parameters), all connecting to the endpoint's own
// Postgres whatever host the connection string names (docs/neon-http.md). Type parsers are disabled: values stay in
// Postgres text format, as Neon returns them. Session state is not reset between requests (Neon's pool does not
// reset it either); a connection is destroyed instead of returned when a request marks it broken or it is still
// inside a transaction.
import type { CustomTypesConfig, PoolClient } from "pg";
import { DatabaseError, Pool } from "pg";
import type { ConnectionTarget } from "./connection-string";
import { poolKey } from "./connection-string";
import { HttpError, QueryError } from "./errors";
import { POOL_ACQUIRE_TIMEOUT_MS, POOL_IDLE_TIMEOUT_MS, POOL_MAX_CONNECTIONS } from "./limits";

export interface Lease {
  readonly client: PoolClient;
  /** Set when the connection must not serve another request (an error, a response cut short, a disconnect). */
  broken: boolean;
  release(): void;
}

// pg's declared type for parsers is generic in the parsed value; these all return the text they are given.
const RAW_TEXT = { getTypeParser: () => (text: string) => text } as unknown as CustomTypesConfig;

export class PoolRegistry {
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly postgres: { host: string; port: number },
    private readonly log: (line: string) => void,
  ) {}

  async acquire(target: ConnectionTarget): Promise<Lease> {
    const key = poolKey(target);
    const pool = this.pools.get(key) ?? this.create(key, target);
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      this.dropIfEmpty(key, pool);
      if (error instanceof DatabaseError) throw new QueryError(error);
      this.log(`could not connect to postgres: ${(error as Error).message}`);
      throw new HttpError(500, "could not connect to the database");
    }
    const lease: Lease = {
      client,
      broken: false,
      release: () => {
        client.off("error", onError);
        client.release(lease.broken || client.getTransactionStatus() !== "I");
      },
    };
    const onError = (): void => {
      lease.broken = true;
    };
    client.on("error", onError);
    return lease;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  }

  private create(key: string, target: ConnectionTarget): Pool {
    const pool = new Pool({
      host: this.postgres.host,
      port: this.postgres.port,
      user: target.user,
      password: target.password,
      database: target.database,
      ...(target.applicationName !== undefined ? { application_name: target.applicationName } : {}),
      ...(target.options !== undefined ? { options: target.options } : {}),
      ssl: false,
      types: RAW_TEXT,
      max: POOL_MAX_CONNECTIONS,
      idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS,
      connectionTimeoutMillis: POOL_ACQUIRE_TIMEOUT_MS,
      allowExitOnIdle: true,
    });
    pool.on("error", (error) => this.log(`idle postgres connection failed: ${error.message}`));
    this.pools.set(key, pool);
    return pool;
  }

  // A pool that never managed to connect (a wrong password, say) is not kept, so failed logins cannot grow the map.
  private dropIfEmpty(key: string, pool: Pool): void {
    if (pool.totalCount > 0 || pool.waitingCount > 0 || this.pools.get(key) !== pool) return;
    this.pools.delete(key);
    void pool.end().catch(() => undefined);
  }
}
