import { join } from "node:path";
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
