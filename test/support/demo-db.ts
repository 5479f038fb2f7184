import pg from "pg";

/** The e2e stack's demo database, reached as its superuser (the URL the stack reports names the postgres database). */
export function demoDatabaseUrl(superuserUrl: string): string {
  return superuserUrl.replace(/\/postgres$/, "/gatehouse");
}

/** One query on a fresh connection to `url` (any role: the superuser, or a login a test connects as), closed afterwards. */
export async function queryOnce<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** One query against the demo database as the superuser of the e2e stack's embedded Postgres (test checks only). */
export function demoQuery<T extends pg.QueryResultRow>(superuserUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return queryOnce<T>(demoDatabaseUrl(superuserUrl), sql, params);
}
