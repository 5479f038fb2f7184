import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runWrangler } from "../../local/wrangler";

/** Queries the stack's local D1 with `wrangler d1 execute --json` (read-only use in tests). */
export async function queryD1<T = Record<string, unknown>>(stateDir: string, sql: string): Promise<T[]> {
  const out = await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", join(stateDir, "wrangler"), "--json", "--command", sql]);
  const start = out.indexOf("[");
  const parsed = JSON.parse(out.slice(start)) as Array<{ results: T[] }>;
  return parsed[0]?.results ?? [];
}

/** The payload of a JWT, without verifying it (tests only). */
export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** The stack's local D1 database file (miniflare's SQLite file holding the schema). */
async function localD1File(stateDir: string): Promise<string> {
  const dir = join(stateDir, "wrangler", "v3", "d1", "miniflare-D1DatabaseObject");
  for (const f of (await readdir(dir)).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")) {
    const db = new DatabaseSync(join(dir, f), { readOnly: true });
    try {
      if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'audit_events'").get()) return join(dir, f);
    } finally {
      db.close();
    }
  }
  throw new Error(`no D1 database under ${dir}`);
}

/**
 * Reads the stack's local D1 straight from its SQLite file over a read-only connection: much cheaper than a
 * `wrangler d1 execute` per query, and it allows the pragmas D1 refuses (page_count, page_size).
 */
export async function readLocalD1<T = Record<string, unknown>>(stateDir: string, sql: string): Promise<T[]> {
  const db = new DatabaseSync(await localD1File(stateDir), { readOnly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/** Size of the stack's local D1 database as SQLite reports it: page_count × page_size (WAL content included). */
export async function d1FileBytes(stateDir: string): Promise<number> {
  const [pages] = await readLocalD1<{ page_count: number }>(stateDir, "PRAGMA page_count");
  const [size] = await readLocalD1<{ page_size: number }>(stateDir, "PRAGMA page_size");
  return pages!.page_count * size!.page_size;
}
