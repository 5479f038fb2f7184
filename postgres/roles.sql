-- Gatehouse: Postgres role hardening (docs/security.md, "Postgres role hardening").
--
-- One LOGIN role per tool tier; the gateway connects directly as the tier's role (never SET ROLE):
--   gatehouse_reporting   read tier   named SELECTs over approved views
--   gatehouse_diagnostic  sql tier    the guarded execute_sql
--   gatehouse_writer      write tier  named, approved INSERT/UPDATE/DELETE
--
-- This file is database-agnostic: it creates or repairs the three roles (cluster-wide) and hardens the
-- database it runs in. Object grants are not here: they name application objects, so they live next to
-- the schema they grant on (postgres/demo.sql for the demo).
--
-- Run (psql, or the Neon SQL editor; one transaction, safe to re-run):
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f postgres/roles.sql
-- as a superuser, or on Neon as the database owner (a member of neon_superuser, which has CREATEROLE).
-- Roles are created without a password; set one per role, then store each role's connection string as
-- that tier's Worker secret:
--   ALTER ROLE gatehouse_reporting PASSWORD '<long random secret>';
-- (psql's `\password gatehouse_reporting` sends only the SCRAM verifier, never the password itself.)
--
-- A tier role can still ALTER ROLE itself (SET ... and PASSWORD need no privilege); the gateway's guard keeps
-- such statements away from it. Re-running this file resets every tier role's settings and memberships.
--
-- Fails (and changes nothing) if a tier role is a superuser, if dblink or postgres_fdw is installed, or if
-- a tier role could still create objects or temporary tables here after the fixes below.

BEGIN;

-- Create missing roles; repair the attributes of existing ones. Attributes are changed only when wrong,
-- because a non-superuser (Neon) may not even restate REPLICATION/BYPASSRLS it does not hold itself.
DO $$
DECLARE
  tier record;
  cur pg_roles;
  m record;
BEGIN
  FOR tier IN
    SELECT * FROM (VALUES
      ('gatehouse_reporting', 30, false),
      ('gatehouse_diagnostic', 30, false),
      ('gatehouse_writer', 15, true)
    ) AS t(name, conn_limit, writes)
  LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = tier.name) THEN
      EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT CONNECTION LIMIT %s', tier.name, tier.conn_limit);
    END IF;
    SELECT * INTO cur FROM pg_roles WHERE rolname = tier.name;

    IF cur.rolsuper THEN
      RAISE EXCEPTION 'role % is a superuser; Gatehouse tier roles must not be', tier.name;
    END IF;
    IF cur.rolcreatedb THEN EXECUTE format('ALTER ROLE %I NOCREATEDB', tier.name); END IF;
    IF cur.rolcreaterole THEN EXECUTE format('ALTER ROLE %I NOCREATEROLE', tier.name); END IF;
    IF cur.rolreplication THEN EXECUTE format('ALTER ROLE %I NOREPLICATION', tier.name); END IF;
    IF cur.rolbypassrls THEN EXECUTE format('ALTER ROLE %I NOBYPASSRLS', tier.name); END IF;
    IF cur.rolinherit THEN EXECUTE format('ALTER ROLE %I NOINHERIT', tier.name); END IF;
    IF NOT cur.rolcanlogin THEN EXECUTE format('ALTER ROLE %I LOGIN', tier.name); END IF;
    IF cur.rolconnlimit <> tier.conn_limit THEN
      EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', tier.name, tier.conn_limit);
    END IF;

    -- No memberships: nothing to inherit or SET ROLE to (pg_read_server_files, pg_monitor, app roles...).
    FOR m IN
      SELECT g.rolname AS granted, gr.rolname AS grantor
      FROM pg_auth_members am
      JOIN pg_roles g ON g.oid = am.roleid
      JOIN pg_roles gr ON gr.oid = am.grantor
      WHERE am.member = cur.oid
    LOOP
      EXECUTE format('REVOKE %I FROM %I GRANTED BY %I CASCADE', m.granted, tier.name, m.grantor);
    END LOOP;

    -- Session defaults: replace whatever is there (a role may ALTER ROLE itself SET ...), in every database.
    EXECUTE format('ALTER ROLE %I RESET ALL', tier.name);
    FOR m IN SELECT d.datname FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
             WHERE s.setrole = cur.oid LOOP
      EXECUTE format('ALTER ROLE %I IN DATABASE %I RESET ALL', tier.name, m.datname);
    END LOOP;
    -- Backstops only: the gateway sets a tighter per-call statement_timeout with set_config(..., true).
    EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', tier.name, '15s');
    EXECUTE format('ALTER ROLE %I SET lock_timeout = %L', tier.name, '2s');
    EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', tier.name, '10s');
    -- Memory and disk per backend process (a parallel worker is a process of its own). Each sort or hash node
    -- may use work_mem (hashes work_mem x hash_mem_multiplier) before spilling to temporary files, and the
    -- process's temporary files together may not exceed temp_file_limit: past it the statement fails with
    -- SQLSTATE 53400 instead of filling the disk. work_mem and hash_mem_multiplier are user-settable, so the
    -- gateway's guard (no SET, no set_config) is what keeps a tier role at these values; temp_file_limit is
    -- superuser-only (PGC_SUSET), so a tier role cannot raise it, not even with ALTER ROLE on itself.
    -- Neither bounds a single value an expression builds (repeat(), string_agg(), ...): Postgres has no
    -- per-backend memory limit; the guard bounds the functions that build large values.
    EXECUTE format('ALTER ROLE %I SET work_mem = %L', tier.name, '4MB');
    EXECUTE format('ALTER ROLE %I SET hash_mem_multiplier = %L', tier.name, '1');
    BEGIN
      EXECUTE format('ALTER ROLE %I SET temp_file_limit = %L', tier.name, '128MB');
    EXCEPTION WHEN insufficient_privilege THEN
      -- A non-superuser owner (a managed service's admin role) may lack SET on this parameter.
      RAISE WARNING 'temp_file_limit not set on %: % (ask the provider, or GRANT SET ON PARAMETER temp_file_limit)',
        tier.name, SQLERRM;
    END;
    IF NOT tier.writes THEN
      -- The gateway already opens read-only transactions for these tiers; this covers any other path.
      EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', tier.name);
    END IF;
  END LOOP;
END
$$;

-- Database-level hardening of the current database.
DO $$
DECLARE
  db constant text := current_database();
  f record;
BEGIN
  IF EXISTS (SELECT FROM pg_extension WHERE extname IN ('dblink', 'postgres_fdw')) THEN
    RAISE EXCEPTION 'extension dblink or postgres_fdw is installed in database %', db
      USING HINT = 'They let any role with EXECUTE open connections out of the database; drop them first.';
  END IF;

  -- No temporary tables for anyone but the owner and superusers; tier roles get CONNECT and nothing else.
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', db);
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM gatehouse_reporting, gatehouse_diagnostic, gatehouse_writer', db);
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO gatehouse_reporting, gatehouse_diagnostic, gatehouse_writer', db);

  -- Application functions run only where granted: revoke PUBLIC's default EXECUTE from every routine
  -- outside the system schemas that does not belong to an extension (extensions are vetted as a whole).
  FOR f IN
    SELECT p.oid::regprocedure AS sig
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (SELECT FROM pg_depend d
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
      AND EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                  WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
  LOOP
    EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', f.sig);
  END LOOP;
END
$$;

-- Routines created later by the role running this file are not executable by PUBLIC either.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON ROUTINES FROM PUBLIC;

-- PostgreSQL 15+ already ships this; older clusters and restored dumps may not.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM gatehouse_reporting, gatehouse_diagnostic, gatehouse_writer;

-- Verify the result instead of trusting it: anything still wrong aborts the whole transaction.
DO $$
DECLARE
  bad text;
BEGIN
  SELECT string_agg(format('%s: %s', r.rolname, v.problem), '; ') INTO bad
  FROM pg_roles r
  CROSS JOIN LATERAL (VALUES
    (r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls, 'privileged attribute'),
    (r.rolinherit OR NOT r.rolcanlogin, 'not a NOINHERIT LOGIN role'),
    (EXISTS (SELECT FROM pg_auth_members am WHERE am.member = r.oid), 'member of another role'),
    (has_database_privilege(r.oid, current_database(), 'CREATE, TEMPORARY'), 'may create schemas or temporary tables'),
    (EXISTS (SELECT FROM pg_namespace n
             WHERE n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast%'
               AND has_schema_privilege(r.oid, n.oid, 'CREATE')), 'may create objects in a schema')
  ) AS v(failed, problem)
  WHERE r.rolname IN ('gatehouse_reporting', 'gatehouse_diagnostic', 'gatehouse_writer') AND v.failed;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'role hardening incomplete: %', bad;
  END IF;
END
$$;

COMMIT;
