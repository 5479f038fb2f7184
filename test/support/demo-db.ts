import pg from "pg";

/** One query against the demo database as the superuser of the e2e stack's embedded Postgres (test checks only). */
export async function demoQuery<T extends pg.QueryResultRow>(superuserUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(superuserUrl.replace(/\/postgres$/, "/gatehouse"));
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
