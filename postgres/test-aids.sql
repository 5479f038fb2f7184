-- Gatehouse test aids: views that let end-to-end tests exercise the gateway's limits. Harmless (no data,
-- bounded cost), applied by the dev stack too; leave them out of production databases.
--
-- Requires postgres/roles.sql and postgres/demo.sql; demo.sql recreates schema reporting and so removes
-- these views: apply this file after every demo.sql run.
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f postgres/test-aids.sql

BEGIN;

-- One row after sleeping 2 s: per-call statement_timeout (57014) and client deadline tests.
CREATE OR REPLACE VIEW reporting.slow_report AS
SELECT 1 AS n, 'slept 2s'::text AS slept
FROM pg_sleep(2);

-- 100 rows of 4096 characters each (about 400 KiB, over the default 256 KiB max_bytes): byte-cap tests.
CREATE OR REPLACE VIEW reporting.wide_rows AS
SELECT n, repeat(md5(n::text), 128) AS payload
FROM generate_series(1, 100) AS n
ORDER BY n;

-- Exactly 1000 rows (n = 1..1000, label 'row 0001'..'row 1000'): max_rows and truncation tests.
CREATE OR REPLACE VIEW reporting.numbered_rows AS
SELECT n, 'row ' || lpad(n::text, 4, '0') AS label
FROM generate_series(1, 1000) AS n
ORDER BY n;

COMMENT ON VIEW reporting.slow_report IS 'Gatehouse test aid: sleeps 2 s, returns 1 row.';
COMMENT ON VIEW reporting.wide_rows IS 'Gatehouse test aid: 100 rows x 4096-character payload.';
COMMENT ON VIEW reporting.numbered_rows IS 'Gatehouse test aid: exactly 1000 rows.';

GRANT SELECT ON reporting.slow_report, reporting.wide_rows, reporting.numbered_rows
  TO gatehouse_reporting, gatehouse_diagnostic;

COMMIT;
