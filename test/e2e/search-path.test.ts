// Every tool transaction pins search_path (src/tools/neon.ts), so an unqualified name never resolves into `public`.
// The case: an extension installed in `public` (extensions keep PUBLIC's EXECUTE, postgres/roles.sql) overloads a
// built-in the guard allows by name. Unpinned, `lower(42)` has no pg_catalog match (no implicit int → text cast) and
// runs the extension's public.lower(integer) instead: code the guard never vetted.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { DATABASE } from "../../local/stack";
import { connectClient, devToken } from "../support/mcp-client";

const e2e = inject("e2e");
type CallResult = { isError?: boolean; content: Array<{ text?: string }>; structuredContent?: { rows: unknown[][] } };
const text = (r: CallResult) => r.content.map((c) => c.text ?? "").join("\n");

let tester: Client;
let owner: pg.Client;

beforeAll(async () => {
  const url = new URL(e2e.pg.superuserUrl);
  url.pathname = `/${DATABASE}`;
  owner = new pg.Client({ connectionString: url.toString() });
  await owner.connect();
  await owner.query("CREATE FUNCTION public.lower(integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'public.lower ran' $$");
  await owner.query("GRANT EXECUTE ON FUNCTION public.lower(integer) TO PUBLIC");
  tester = await connectClient(e2e.mcpUrl, await devToken(e2e, { user: "tester@example.com", workspace: "e2e" }));
});

afterAll(async () => {
  await tester?.close();
  await owner?.query("DROP FUNCTION IF EXISTS public.lower(integer)");
  await owner?.end();
});

describe("search_path in tool transactions", () => {
  it("is pg_catalog (then pg_temp) only: an overload in public is not found", async () => {
    // The superuser's own session, unpinned, does resolve the overload: the fixture is live.
    expect((await owner.query("SELECT lower(42) AS v")).rows[0]).toEqual({ v: "public.lower ran" });

    const r = (await tester.callTool({ name: "corpus_sql", arguments: { sql: "SELECT lower(42) AS v" } })) as CallResult;
    expect(text(r)).not.toContain("public.lower ran");
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/SQLSTATE 42883/);
  });

  it("built-ins and schema-qualified relations still resolve", async () => {
    const r = (await tester.callTool({ name: "corpus_sql", arguments: { sql: "SELECT lower('ABC') AS v, count(*)::int AS n FROM sales.accounts" } })) as CallResult;
    expect(r.isError, text(r)).toBeFalsy();
    expect(r.structuredContent!.rows).toEqual([["abc", 40]]);
  });
});
