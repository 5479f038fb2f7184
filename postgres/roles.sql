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
--
-- Dynamic logins (docs/database-credentials.md). A database credential in dynamic mode connects as a login role
-- of its own per access token, `gh_<16 hex>`, made on first use by the broker login `gatehouse_broker` through
-- the functions of schema gatehouse_broker (created below, in the database this file runs in; the broker's
-- connection string must name this database). Each such login INHERITs its tier role and may not SET ROLE to it,
-- carries the tier role's settings, CONNECTION LIMIT 10, and VALID UNTIL = the token's expiry plus a grace;
-- revoke_logins makes it NOLOGIN and terminates its backends, sweep_logins drops it once expired.
-- Set the broker's password like a tier role's: ALTER ROLE gatehouse_broker PASSWORD '<long random secret>'.
--
-- Dynamic tiers: the broker holds ADMIN OPTION only on the tier roles whose `dynamic` flag is true in the tier list
-- below; by default gatehouse_diagnostic alone (the demo's dynamic sql tier). Every run grants it on exactly those and
-- revokes it on the others (with the tier memberships the broker granted through it), so a grant made by hand does
-- not outlive the next run. To make another tier dynamic, set its flag and re-run this file; a credential bound with
-- "mode": "dynamic" and the "role" of a tier that is not dynamic fails: ensure_login refuses it (42501).
--
-- The broker's blast radius, PostgreSQL 16+ CREATEROLE semantics (a CREATEROLE role acts only on roles it holds
-- ADMIN OPTION on; it gets ADMIN OPTION on each role it creates, granted INHERIT FALSE, SET FALSE):
--   It can: create roles, but never SUPERUSER, and never CREATEDB, REPLICATION or BYPASSRLS (it holds none of
--     them), though it can give a new role CREATEROLE; alter, rename, set the password and settings of, and drop
--     the roles it administers: the dynamic tier roles (ADMIN OPTION granted here) and the logins it created; grant
--     those roles to any role, itself included, and revoke them. So whoever holds its password can take over the
--     static logins of the dynamic tiers (reset their passwords) and obtain those tiers' privileges, by granting a
--     dynamic tier role to itself or to a login it creates; that grant shows in pg_auth_members and, with
--     log_statement = 'ddl', in the log. It sees every backend's pid and role in pg_stat_activity (not the query
--     text of others). A leaked broker secret thus reaches the dynamic tiers only (by default the sql tier, which
--     that secret stood for before dynamic mode), never a tier that is not dynamic, such as the write tier.
--   It cannot: grant a role it does not administer (a tier role that is not dynamic, pg_read_all_data,
--     pg_signal_backend, pg_monitor, neon_superuser, an application's own roles), nor alter, drop or set the
--     password of a role it does not administer (those tier roles, other logins, the database owner); create
--     databases, schemas or temporary tables; change its own attributes; read or change application data in its
--     own session (its memberships are INHERIT FALSE, SET FALSE); signal backends other than its logins'.
--   Inheriting a created login: pg_terminate_backend and DROP OWNED need the privileges of the target role, and
--     a login inherits its tier role, so holding a login with INHERIT TRUE would hold that tier's data privileges
--     too. revoke_logins and sweep_logins therefore grant the login to the broker (INHERIT TRUE, SET FALSE) only
--     inside their own transaction, and drop that grant again before it commits.

BEGIN;

-- Create missing roles; repair the attributes of existing ones. Attributes are changed only when wrong,
-- because a non-superuser (Neon) may not even restate REPLICATION/BYPASSRLS it does not hold itself.
DO $$
DECLARE
  tier record;
  cur pg_roles;
  m record;
BEGIN
  -- dynamic: the broker administers this tier role, so per-token logins of it can be made (a credential bound with
  -- "mode": "dynamic" and this "role"). Only these tiers are reachable with the broker's password; set the flag of
  -- another tier and re-run this file to make it dynamic too, clear it to take it away (header, "Dynamic logins").
  PERFORM set_config('gatehouse.dynamic_tiers', '', true);
  FOR tier IN
    SELECT * FROM (VALUES
      ('gatehouse_reporting', 30, false, false),
      ('gatehouse_diagnostic', 30, false, true),
      ('gatehouse_writer', 15, true, false)
    ) AS t(name, conn_limit, writes, dynamic)
  LOOP
    IF tier.dynamic THEN
      -- Read by the broker's block and the final check below; transaction-local, gone at COMMIT.
      PERFORM set_config('gatehouse.dynamic_tiers',
                         concat_ws(',', nullif(current_setting('gatehouse.dynamic_tiers'), ''), tier.name), true);
    END IF;
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

-- The broker login: create or repair. The memberships it keeps are ADMIN OPTION on the dynamic tier roles (the
-- `dynamic` flags above) and the automatic ADMIN OPTION on the logins it created, all INHERIT FALSE, SET FALSE; any
-- other membership goes, ADMIN OPTION on a tier that is not dynamic included (CASCADE: with the tier memberships the
-- broker granted through it, so that tier's existing logins lose its privileges at once).
DO $$
DECLARE
  broker constant name := 'gatehouse_broker';
  tiers constant name[] := string_to_array(current_setting('gatehouse.dynamic_tiers'), ',')::name[];
  tier name;
  cur pg_roles;
  m record;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = broker) THEN
    EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT CREATEROLE CONNECTION LIMIT 64', broker);
  END IF;
  SELECT * INTO cur FROM pg_roles WHERE rolname = broker;

  IF cur.rolsuper THEN
    RAISE EXCEPTION 'role % is a superuser; the Gatehouse broker must not be', broker;
  END IF;
  IF cur.rolcreatedb THEN EXECUTE format('ALTER ROLE %I NOCREATEDB', broker); END IF;
  IF cur.rolreplication THEN EXECUTE format('ALTER ROLE %I NOREPLICATION', broker); END IF;
  IF cur.rolbypassrls THEN EXECUTE format('ALTER ROLE %I NOBYPASSRLS', broker); END IF;
  IF cur.rolinherit THEN EXECUTE format('ALTER ROLE %I NOINHERIT', broker); END IF;
  IF NOT cur.rolcreaterole THEN EXECUTE format('ALTER ROLE %I CREATEROLE', broker); END IF;
  IF NOT cur.rolcanlogin THEN EXECUTE format('ALTER ROLE %I LOGIN', broker); END IF;
  -- Room for the first calls of many fresh tokens at once (each needs one broker connection for ensure_login).
  IF cur.rolconnlimit <> 64 THEN EXECUTE format('ALTER ROLE %I CONNECTION LIMIT 64', broker); END IF;

  FOR m IN
    SELECT g.rolname AS granted, gr.rolname AS grantor, am.admin_option, am.inherit_option, am.set_option
    FROM pg_auth_members am
    JOIN pg_roles g ON g.oid = am.roleid
    JOIN pg_roles gr ON gr.oid = am.grantor
    WHERE am.member = cur.oid
  LOOP
    IF m.admin_option AND (m.granted = ANY (tiers) OR m.granted ~ '^gh_[0-9a-f]{16}$') THEN
      -- Keep the ADMIN OPTION: revoking it would cascade to the memberships the broker granted its logins.
      IF m.inherit_option THEN
        EXECUTE format('REVOKE INHERIT OPTION FOR %I FROM %I GRANTED BY %I', m.granted, broker, m.grantor);
      END IF;
      IF m.set_option THEN
        EXECUTE format('REVOKE SET OPTION FOR %I FROM %I GRANTED BY %I', m.granted, broker, m.grantor);
      END IF;
    ELSE
      EXECUTE format('REVOKE %I FROM %I GRANTED BY %I CASCADE', m.granted, broker, m.grantor);
    END IF;
  END LOOP;
  FOREACH tier IN ARRAY tiers LOOP
    IF NOT EXISTS (SELECT FROM pg_auth_members am
                   WHERE am.member = cur.oid AND am.roleid = to_regrole(tier) AND am.admin_option) THEN
      EXECUTE format('GRANT %I TO %I WITH ADMIN TRUE, INHERIT FALSE, SET FALSE', tier, broker);
    END IF;
  END LOOP;

  EXECUTE format('ALTER ROLE %I RESET ALL', broker);
  FOR m IN SELECT d.datname FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
           WHERE s.setrole = cur.oid LOOP
    EXECUTE format('ALTER ROLE %I IN DATABASE %I RESET ALL', broker, m.datname);
  END LOOP;
  -- lock_timeout also bounds the wait for a login's advisory lock in ensure_login.
  EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', broker, '10s');
  EXECUTE format('ALTER ROLE %I SET lock_timeout = %L', broker, '5s');
  EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', broker, '10s');

  -- Copying a tier role's temp_file_limit (superuser-only, PGC_SUSET) onto a login needs SET on the parameter.
  BEGIN
    EXECUTE format('GRANT SET ON PARAMETER temp_file_limit TO %I', broker);
  EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'SET ON PARAMETER temp_file_limit not granted to %: % (dynamic logins fail while a tier role has it set)',
      broker, SQLERRM;
  END;

  -- A non-superuser running this file (Neon: the database owner) creates the broker's objects as the broker.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AND NOT pg_has_role(current_user, broker, 'SET') THEN
    EXECUTE format('GRANT %I TO %I WITH INHERIT FALSE, SET TRUE', broker, current_user);
  END IF;
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

  -- No temporary tables for anyone but the owner and superusers; tier roles and the broker get CONNECT and
  -- nothing else (a dynamic login connects through the CONNECT its tier role holds).
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', db);
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM gatehouse_reporting, gatehouse_diagnostic, gatehouse_writer, gatehouse_broker', db);
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO gatehouse_reporting, gatehouse_diagnostic, gatehouse_writer, gatehouse_broker', db);

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
REVOKE ALL ON SCHEMA public FROM gatehouse_reporting, gatehouse_diagnostic, gatehouse_writer, gatehouse_broker;

-- The broker's schema in this database: its ledger of dynamic logins and the three functions the Worker calls as
-- the broker. All are SECURITY INVOKER (they run with the broker's own rights, nothing more), executable by the
-- broker only, and build every statement with format('%I') / format('%L').
CREATE SCHEMA IF NOT EXISTS gatehouse_broker AUTHORIZATION gatehouse_broker;
ALTER SCHEMA gatehouse_broker OWNER TO gatehouse_broker;

SET LOCAL ROLE gatehouse_broker;

-- As its owner: a non-superuser running this file holds no privilege on the schema, and REVOKE then fails (42501).
REVOKE ALL ON SCHEMA gatehouse_broker FROM PUBLIC;

-- One row per dynamic login. jti_hash is the hex SHA-256 of the token's jti (the login's name is derived from the
-- jti, which is not stored); a revoked row stays until the login has expired, so a revoked login is never remade.
CREATE TABLE IF NOT EXISTS gatehouse_broker.dynamic_logins (
  role name PRIMARY KEY,
  tier_role name NOT NULL,
  workspace text NOT NULL,
  principal text NOT NULL,
  client_id text NOT NULL,
  session_id text,
  jti_hash text NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS dynamic_logins_principal ON gatehouse_broker.dynamic_logins (workspace, principal);
CREATE INDEX IF NOT EXISTS dynamic_logins_client ON gatehouse_broker.dynamic_logins (workspace, client_id);
CREATE INDEX IF NOT EXISTS dynamic_logins_session ON gatehouse_broker.dynamic_logins (workspace, session_id);
CREATE INDEX IF NOT EXISTS dynamic_logins_expires ON gatehouse_broker.dynamic_logins (expires_at);
REVOKE ALL ON TABLE gatehouse_broker.dynamic_logins FROM PUBLIC;

-- Makes the login p_role for one access token and tier, or reports why not. Called by the Worker after the login
-- was refused; returns 'created', 'exists' (made meanwhile by a concurrent first call; its password is set to
-- p_verifier again, which also heals a rotated password key) or 'revoked' (never re-enabled).
-- Refuses with 42501: a name other than gh_<16 hex>, a password that is not a SCRAM-SHA-256 verifier (Postgres
-- stores such a string as is, so no usable password is ever sent or logged), a tier role the caller does not hold
-- ADMIN OPTION on, a VALID UNTIL more than a day ahead, and an existing role of that name the caller did not make.
-- Concurrent calls for one name are serialised by a transaction-level advisory lock on the name.
CREATE OR REPLACE FUNCTION gatehouse_broker.ensure_login(
  p_role text, p_verifier text, p_tier_role text, p_valid_until timestamptz, p_workspace text, p_principal text,
  p_client_id text, p_session_id text, p_jti_hash text
) RETURNS text
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO, YMD'
SET createrole_self_grant = ''
AS $fn$
DECLARE
  broker constant oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
  -- GUCs whose value is a list of (quoted) identifiers, stored as `"a b", public`: copied element by element.
  list_settings constant text[] := ARRAY['search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries'];
  tier oid;
  login pg_roles;
  ledger gatehouse_broker.dynamic_logins;
  setting record;
  setting_name text;
  setting_value text;
  value_sql text;
BEGIN
  IF p_role IS NULL OR p_role !~ '^gh_[0-9a-f]{16}$' THEN
    RAISE EXCEPTION 'not a dynamic login name: %', p_role USING ERRCODE = '42501';
  END IF;
  -- Exactly Postgres' verifier form (iterations, base64 salt, 32-byte StoredKey and ServerKey): Postgres stores a
  -- string it cannot parse as a verifier as a plain password, and the string sent here would then log in.
  IF p_verifier IS NULL
     OR p_verifier !~ '^SCRAM-SHA-256\$[1-9][0-9]{0,6}:(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$' THEN
    RAISE EXCEPTION 'the password of a dynamic login must be a SCRAM-SHA-256 verifier' USING ERRCODE = '42501';
  END IF;
  SELECT r.oid INTO tier
  FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid
  WHERE am.member = broker AND am.admin_option AND r.rolname = p_tier_role
    AND r.rolname !~ '^gh_' AND NOT r.rolsuper
  LIMIT 1;
  IF tier IS NULL THEN
    RAISE EXCEPTION 'role % is not a tier role administered by %', p_tier_role, current_user USING ERRCODE = '42501';
  END IF;
  IF p_valid_until IS NULL OR p_valid_until > now() + interval '1 day' THEN
    RAISE EXCEPTION 'VALID UNTIL of a dynamic login must be within a day' USING ERRCODE = '42501';
  END IF;
  IF p_jti_hash IS NULL OR p_jti_hash !~ '^[0-9a-f]{64}$' THEN
    RAISE EXCEPTION 'jti_hash must be 64 lowercase hex digits' USING ERRCODE = '22023';
  END IF;
  IF p_workspace IS NULL OR p_principal IS NULL OR p_client_id IS NULL THEN
    RAISE EXCEPTION 'workspace, principal and client_id are required' USING ERRCODE = '22023';
  END IF;

  PERFORM pg_advisory_xact_lock(26472, hashtext(p_role));

  SELECT * INTO ledger FROM gatehouse_broker.dynamic_logins WHERE role = p_role;
  SELECT * INTO login FROM pg_roles WHERE rolname = p_role;
  IF FOUND THEN
    IF NOT EXISTS (SELECT FROM pg_auth_members am WHERE am.member = broker AND am.roleid = login.oid AND am.admin_option) THEN
      RAISE EXCEPTION 'role % exists and is not a login made by %', p_role, current_user USING ERRCODE = '42501';
    END IF;
    IF ledger.revoked_at IS NOT NULL OR NOT login.rolcanlogin THEN
      RETURN 'revoked';
    END IF;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', p_role, p_verifier);
    RETURN 'exists';
  END IF;
  IF ledger.revoked_at IS NOT NULL THEN
    RETURN 'revoked';
  END IF;

  -- CONNECTION LIMIT 10: the SQL-over-HTTP endpoint's connections per login (local/neon-http/limits.ts), so one
  -- token's concurrent calls queue in that pool instead of failing with 53300; a leaked login holds at most 10.
  EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
                 'CONNECTION LIMIT 10 PASSWORD %L VALID UNTIL %L', p_role, p_verifier, p_valid_until);
  EXECUTE format('GRANT %I TO %I WITH INHERIT TRUE, SET FALSE', p_tier_role, p_role);
  -- The tier role's own settings (this file's timeouts, read-only default, work_mem, temp_file_limit, and any
  -- search_path an operator set), cluster-wide and for this database. A setting the caller may not set fails
  -- the call: a login is never looser than its tier role.
  FOR setting IN
    SELECT s.setdatabase <> 0 AS in_database, c.entry
    FROM pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) AS c(entry)
    WHERE s.setrole = tier AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
  LOOP
    setting_name := split_part(setting.entry, '=', 1);
    setting_value := substr(setting.entry, length(setting_name) + 2);
    value_sql := NULL;
    IF setting_name = ANY (list_settings) THEN
      SELECT string_agg(format('%L', CASE WHEN e[1] LIKE '"%' THEN replace(substr(e[1], 2, length(e[1]) - 2), '""', '"') ELSE e[1] END),
                        ', ' ORDER BY n)
      INTO value_sql
      FROM regexp_matches(setting_value, '\s*("(?:[^"]|"")*"|[^,]*[^,\s])\s*(?:,|$)', 'g') WITH ORDINALITY AS m(e, n);
    END IF;
    EXECUTE format('ALTER ROLE %I %s SET %I TO %s', p_role,
                   CASE WHEN setting.in_database THEN format('IN DATABASE %I', current_database()) ELSE '' END,
                   setting_name, coalesce(value_sql, format('%L', setting_value)));
  END LOOP;

  INSERT INTO gatehouse_broker.dynamic_logins
    (role, tier_role, workspace, principal, client_id, session_id, jti_hash, expires_at)
  VALUES (p_role, p_tier_role, p_workspace, p_principal, p_client_id, p_session_id, p_jti_hash, p_valid_until)
  ON CONFLICT (role) DO UPDATE SET
    tier_role = excluded.tier_role, workspace = excluded.workspace, principal = excluded.principal,
    client_id = excluded.client_id, session_id = excluded.session_id, jti_hash = excluded.jti_hash,
    expires_at = excluded.expires_at, created_at = now(), revoked_at = NULL;
  RETURN 'created';
END
$fn$;

-- Revokes the dynamic logins of workspace p_workspace made for one session, principal, client, or token
-- (p_kind 'session' | 'principal' | 'client' | 'token', p_value the session id, principal, client id, or jti_hash):
-- marks them revoked, makes them NOLOGIN and terminates their backends, so a running query stops. Returns how
-- many were revoked by this call; idempotent (a repeated call terminates again and returns 0).
-- pg_terminate_backend needs the privileges of the login's role: the login is granted to the caller with
-- INHERIT TRUE for the statement only and revoked before the transaction ends (header: "Inheriting a created login").
CREATE OR REPLACE FUNCTION gatehouse_broker.revoke_logins(p_kind text, p_value text, p_workspace text)
RETURNS integer
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  broker constant oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
  target record;
  login pg_roles;
  revoked integer := 0;
BEGIN
  IF p_kind IS NULL OR p_kind NOT IN ('session', 'principal', 'client', 'token') THEN
    RAISE EXCEPTION 'unknown revocation kind: %', p_kind USING ERRCODE = '22023';
  END IF;
  IF p_value IS NULL OR p_workspace IS NULL THEN
    RAISE EXCEPTION 'the revoked value and its workspace are required' USING ERRCODE = '22023';
  END IF;
  FOR target IN
    SELECT d.role
    FROM gatehouse_broker.dynamic_logins d
    WHERE d.workspace = p_workspace
      AND p_value = CASE p_kind WHEN 'session' THEN d.session_id WHEN 'principal' THEN d.principal
                                WHEN 'client' THEN d.client_id ELSE d.jti_hash END
    ORDER BY d.role
  LOOP
    PERFORM pg_advisory_xact_lock(26472, hashtext(target.role));
    UPDATE gatehouse_broker.dynamic_logins SET revoked_at = now() WHERE role = target.role AND revoked_at IS NULL;
    IF FOUND THEN
      revoked := revoked + 1;
    END IF;
    SELECT r.* INTO login FROM pg_roles r
    WHERE r.rolname = target.role
      AND EXISTS (SELECT FROM pg_auth_members am WHERE am.member = broker AND am.roleid = r.oid AND am.admin_option);
    IF FOUND THEN
      IF login.rolcanlogin THEN
        EXECUTE format('ALTER ROLE %I NOLOGIN', target.role);
      END IF;
      EXECUTE format('GRANT %I TO %I WITH INHERIT TRUE, SET FALSE', target.role, current_user);
      PERFORM pg_terminate_backend(a.pid) FROM pg_stat_activity a WHERE a.usesysid = login.oid;
      EXECUTE format('REVOKE %I FROM %I GRANTED BY %I', target.role, current_user, current_user);
    END IF;
  END LOOP;
  RETURN revoked;
END
$fn$;

-- Drops the dynamic logins whose VALID UNTIL (or, for a ledger row whose role is gone, expires_at) is older than
-- now() - p_grace, revoked or not: the ledger's rows and any gh_<16 hex> role the caller made that has no row.
-- For each: terminate its backends, DROP OWNED (it should own nothing), DROP ROLE, delete the row. At most 500
-- per call, oldest first; returns how many roles were dropped. A role that still owns objects in another
-- database is left (with a WARNING, its backends terminated) for an operator, and taken after the droppable ones. A negative grace judges expiry by a clock ahead of the
-- database's (the Worker passes its own clock's view; the broker could drop its logins anyway).
CREATE OR REPLACE FUNCTION gatehouse_broker.sweep_logins(p_grace interval)
RETURNS integer
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  broker constant oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
  target record;
  dropped integer := 0;
BEGIN
  IF p_grace IS NULL THEN
    RAISE EXCEPTION 'the grace is required' USING ERRCODE = '22023';
  END IF;
  FOR target IN
    SELECT coalesce(r.rolname, d.role) AS role, r.oid
    FROM gatehouse_broker.dynamic_logins d
    FULL JOIN (
      SELECT r.oid, r.rolname, r.rolvaliduntil
      FROM pg_roles r
      WHERE r.rolname ~ '^gh_[0-9a-f]{16}$'
        AND EXISTS (SELECT FROM pg_auth_members am WHERE am.member = broker AND am.roleid = r.oid AND am.admin_option)
    ) r ON r.rolname = d.role
    WHERE coalesce(r.rolvaliduntil, d.expires_at) < now() - p_grace
    -- A role with objects or privileges in another database cannot be dropped from here (DROP OWNED reaches only
    -- this one): those come last, so that they never take the places of droppable ones in every later call.
    ORDER BY EXISTS (SELECT FROM pg_shdepend s
                     WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid
                       AND s.dbid NOT IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))),
             coalesce(r.rolvaliduntil, d.expires_at), 1
    LIMIT 500
  LOOP
    PERFORM pg_advisory_xact_lock(26472, hashtext(target.role));
    -- An overlapping sweep (a cron run that outlasted its minute) may have dropped it while this one waited.
    IF target.oid IS NOT NULL AND NOT EXISTS (SELECT FROM pg_roles WHERE oid = target.oid) THEN
      CONTINUE;
    END IF;
    IF target.oid IS NOT NULL THEN
      BEGIN
        EXECUTE format('GRANT %I TO %I WITH INHERIT TRUE, SET FALSE', target.role, current_user);
        PERFORM pg_terminate_backend(a.pid) FROM pg_stat_activity a WHERE a.usesysid = target.oid;
        EXECUTE format('DROP OWNED BY %I', target.role);
        EXECUTE format('DROP ROLE %I', target.role);
        dropped := dropped + 1;
      EXCEPTION WHEN dependent_objects_still_exist THEN
        RAISE WARNING 'dynamic login % not dropped: %', target.role, SQLERRM;
        CONTINUE;
      END;
    END IF;
    DELETE FROM gatehouse_broker.dynamic_logins WHERE role = target.role;
  END LOOP;
  RETURN dropped;
END
$fn$;

REVOKE ALL ON FUNCTION gatehouse_broker.ensure_login(text, text, text, timestamptz, text, text, text, text, text),
  gatehouse_broker.revoke_logins(text, text, text), gatehouse_broker.sweep_logins(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gatehouse_broker.ensure_login(text, text, text, timestamptz, text, text, text, text, text),
  gatehouse_broker.revoke_logins(text, text, text), gatehouse_broker.sweep_logins(interval) TO gatehouse_broker;

RESET ROLE;

-- Verify the result instead of trusting it: anything still wrong aborts the whole transaction.
DO $$
DECLARE
  dynamic_tiers constant name[] := string_to_array(current_setting('gatehouse.dynamic_tiers'), ',')::name[];
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

  SELECT concat_ws('; ', bad, string_agg(format('%s: %s', r.rolname, v.problem), '; ')) INTO bad
  FROM pg_roles r
  CROSS JOIN LATERAL (VALUES
    (r.rolsuper OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls, 'privileged attribute'),
    (r.rolinherit OR NOT r.rolcanlogin OR NOT r.rolcreaterole, 'not a NOINHERIT LOGIN CREATEROLE role'),
    (EXISTS (SELECT FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid
             WHERE am.member = r.oid
               AND (am.inherit_option OR am.set_option OR NOT am.admin_option
                    OR NOT (g.rolname = ANY (dynamic_tiers) OR g.rolname ~ '^gh_[0-9a-f]{16}$'))),
     'membership other than ADMIN OPTION on the dynamic tier roles and its logins'),
    ((SELECT count(*) FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid
      WHERE am.member = r.oid AND am.admin_option AND g.rolname = ANY (dynamic_tiers)) <> cardinality(dynamic_tiers),
     'lacks ADMIN OPTION on a dynamic tier role'),
    (has_database_privilege(r.oid, current_database(), 'CREATE, TEMPORARY'), 'may create schemas or temporary tables'),
    (EXISTS (SELECT FROM pg_namespace n
             WHERE n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname <> 'gatehouse_broker'
               AND has_schema_privilege(r.oid, n.oid, 'CREATE')), 'may create objects outside its schema'),
    (EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = 'gatehouse_broker'::regnamespace
               AND (p.proowner <> r.oid OR p.prosecdef
                    OR EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                               WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> r.oid))), 'broker function not its own alone')
  ) AS v(failed, problem)
  WHERE r.rolname = 'gatehouse_broker' AND v.failed;
  IF bad = '' THEN
    bad := NULL;
  END IF;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'role hardening incomplete: %', bad;
  END IF;
END
$$;

COMMIT;
