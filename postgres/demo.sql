-- Gatehouse demo schema, deterministic data and object grants (README "Demo": tests and the README rely on it).
--
-- Requires postgres/roles.sql first (the grants below name its roles). Run as the owner of the demo objects
-- (a superuser locally, the database owner on Neon):
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f postgres/roles.sql -f postgres/demo.sql
--
-- Re-running DROPS AND RECREATES the schemas sales, reporting and secrets, in one transaction: every run ends
-- in the same rows and the same ACLs (no stale grant survives), and a failure leaves the previous state.
-- Never run it on a database whose sales/reporting/secrets schemas hold anything but this demo.
--
-- Determinism: no random(), no now(); every varying value is derived from md5 of a fixed label.
--
-- Grants live here, next to the objects they name; roles.sql stays database-agnostic. Exposure by tier:
--   gatehouse_reporting   reporting.* views only (the views run with their owner's rights)
--   gatehouse_diagnostic  reporting.* plus sales.accounts, sales.opportunities, sales.invoices
--   gatehouse_writer      sales.opportunities: UPDATE (stage); SELECT (id, stage, owner_email), the columns an
--                         "UPDATE ... SET stage = $1 WHERE id = $2 AND owner_email = $3 RETURNING id, stage"
--                         reads
--   nobody                sales.contacts (PII), sales.quotas, secrets.* (no grant at all, no view reads them)

BEGIN;
SET LOCAL lock_timeout = '10s';
SET LOCAL client_min_messages = warning;

DROP SCHEMA IF EXISTS sales, reporting, secrets CASCADE;
CREATE SCHEMA sales;
CREATE SCHEMA reporting;
CREATE SCHEMA secrets;

CREATE TABLE sales.accounts (
  id integer PRIMARY KEY,
  name text NOT NULL UNIQUE,
  industry text NOT NULL,
  region text NOT NULL,
  created_at timestamptz NOT NULL
);

CREATE TABLE sales.opportunities (
  id integer PRIMARY KEY,
  account_id integer NOT NULL REFERENCES sales.accounts,
  name text NOT NULL,
  stage text NOT NULL CHECK (stage IN
    ('prospecting', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost')),
  amount numeric(12, 2) NOT NULL CHECK (amount >= 0),
  close_date date NOT NULL,
  owner_email text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX opportunities_owner_email_idx ON sales.opportunities (owner_email);
CREATE INDEX opportunities_account_id_idx ON sales.opportunities (account_id);

CREATE TABLE sales.invoices (
  id integer PRIMARY KEY,
  account_id integer NOT NULL REFERENCES sales.accounts,
  opportunity_id integer NOT NULL REFERENCES sales.opportunities,
  amount numeric(12, 2) NOT NULL CHECK (amount >= 0),
  issued_on date NOT NULL,
  due_on date NOT NULL,
  paid_on date,
  status text NOT NULL CHECK (status IN ('open', 'paid', 'overdue'))
);
CREATE INDEX invoices_account_id_idx ON sales.invoices (account_id);

-- Per-rep quarterly pipeline targets; read only through reporting.pipeline_coverage.
CREATE TABLE sales.quotas (
  owner_email text NOT NULL,
  quarter_start date NOT NULL,
  target numeric(12, 2) NOT NULL,
  PRIMARY KEY (owner_email, quarter_start)
);

-- PII: granted to no tier and read by no view.
CREATE TABLE sales.contacts (
  id integer PRIMARY KEY,
  account_id integer NOT NULL REFERENCES sales.accounts,
  full_name text NOT NULL,
  email text NOT NULL,
  phone text NOT NULL,
  title text NOT NULL
);

-- Must stay unreachable by every tier (the values are fake).
CREATE TABLE secrets.api_tokens (
  id integer PRIMARY KEY,
  service text NOT NULL,
  token text NOT NULL,
  created_at timestamptz NOT NULL
);

-- 40 accounts, 10 per region.
INSERT INTO sales.accounts (id, name, industry, region, created_at)
SELECT i,
       (ARRAY['Northwind', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne', 'Soylent',
              'Hooli'])[1 + (i - 1) % 10]
         || ' ' || (ARRAY['Labs', 'Systems', 'Holdings', 'Logistics'])[1 + (i - 1) / 10],
       (ARRAY['Software', 'Manufacturing', 'Healthcare', 'Retail', 'Financial Services'])[1 + (i * 3) % 5],
       (ARRAY['NA', 'EMEA', 'APAC', 'LATAM'])[1 + i % 4],
       timestamptz '2023-01-02 09:00:00+00' + make_interval(days => i * 17, hours => i % 9)
FROM generate_series(1, 40) AS i;

-- 160 opportunities, 4 per account (one per product, so names are unique), 20 per owner (id * 3 mod 8:
-- each rep owns every opportunity of 5 accounts).
-- Closed deals close in 2025, open ones in the first half of 2026.
INSERT INTO sales.opportunities (id, account_id, name, stage, amount, close_date, owner_email, created_at)
SELECT o.i, a.id,
       a.name || ' ' || (ARRAY['platform subscription', 'expansion', 'analytics add-on', 'support upgrade'])
                          [1 + (o.i - 1) / 40],
       o.stage,
       5000 + (o.h2 % 196) * 500,
       o.close_date,
       (ARRAY['wes', 'olivia', 'raj', 'sofia', 'mei', 'tom', 'priya', 'lucas'])[1 + (o.i * 3) % 8] || '@example.com',
       (o.close_date - (60 + o.h3 % 90)::integer + time '10:30') AT TIME ZONE 'UTC'
FROM (
  SELECT i, h2, h3,
         CASE WHEN h1 % 100 < 15 THEN 'prospecting'
              WHEN h1 % 100 < 27 THEN 'qualification'
              WHEN h1 % 100 < 39 THEN 'proposal'
              WHEN h1 % 100 < 48 THEN 'negotiation'
              WHEN h1 % 100 < 78 THEN 'closed_won'
              ELSE 'closed_lost' END AS stage,
         CASE WHEN h1 % 100 < 48 THEN date '2026-01-01' + (h3 % 181)::int
              ELSE date '2025-01-01' + (h3 % 365)::int END AS close_date
  FROM (
    SELECT i,
           ('x' || left(md5('opportunity-stage-' || i), 8))::bit(32)::bigint AS h1,
           ('x' || left(md5('opportunity-amount-' || i), 8))::bit(32)::bigint AS h2,
           ('x' || left(md5('opportunity-date-' || i), 8))::bit(32)::bigint AS h3
    FROM generate_series(1, 160) AS i
  ) hashes
) o
JOIN sales.accounts a ON a.id = 1 + (o.i - 1) % 40;

-- Each won deal is billed in 1 to 3 monthly installments from its close date.
INSERT INTO sales.invoices (id, account_id, opportunity_id, amount, issued_on, due_on, paid_on, status)
SELECT row_number() OVER (ORDER BY x.opportunity_id, x.k), x.account_id, x.opportunity_id, x.amount,
       x.issued_on, x.issued_on + 30, x.paid_on,
       CASE WHEN x.paid_on IS NOT NULL THEN 'paid'
            WHEN x.issued_on + 30 < date '2026-01-01' THEN 'overdue'
            ELSE 'open' END
FROM (
  SELECT o.id AS opportunity_id, o.account_id, k,
         round(o.amount / n, 2) AS amount,
         o.close_date + (k - 1) * 30 AS issued_on,
         CASE WHEN h % 10 < 8 AND o.close_date + (k - 1) * 30 < date '2025-12-01'
              THEN o.close_date + (k - 1) * 30 + (5 + (h % 40)::int) END AS paid_on
  FROM sales.opportunities o
  CROSS JOIN LATERAL (SELECT 1 + ('x' || left(md5('invoice-count-' || o.id), 8))::bit(32)::bigint % 3 AS n) c
  CROSS JOIN LATERAL generate_series(1, c.n::int) AS k
  CROSS JOIN LATERAL (SELECT ('x' || left(md5('invoice-paid-' || o.id || '-' || k), 8))::bit(32)::bigint AS h) p
  WHERE o.stage = 'closed_won'
) x;

-- Targets for the two open-pipeline quarters: 8 reps x 2 quarters.
INSERT INTO sales.quotas (owner_email, quarter_start, target)
SELECT r.email, q.quarter_start, 150000 + ((r.n * 37 + q.n * 11) % 5) * 25000
FROM unnest(ARRAY['wes', 'olivia', 'raj', 'sofia', 'mei', 'tom', 'priya', 'lucas']) WITH ORDINALITY AS r0(name, n)
CROSS JOIN LATERAL (SELECT r0.name || '@example.com' AS email, r0.n) r
CROSS JOIN (VALUES (date '2026-01-01', 1), (date '2026-04-01', 2)) AS q(quarter_start, n);

-- 80 contacts, 2 per account (fictional 555-01xx numbers).
INSERT INTO sales.contacts (id, account_id, full_name, email, phone, title)
SELECT i, a.id, f.first || ' ' || f.last,
       lower(f.first || '.' || f.last) || '@' || lower(replace(a.name, ' ', '-')) || '.example',
       '+1-202-555-' || lpad((100 + i)::text, 4, '0'),
       (ARRAY['CFO', 'VP Engineering', 'Head of Data', 'Procurement Lead'])[1 + i % 4]
FROM generate_series(1, 80) AS i
JOIN sales.accounts a ON a.id = (i + 1) / 2
CROSS JOIN LATERAL (SELECT
  (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Dennis', 'Radia',
         'John', 'Shafi', 'Leslie', 'Sophie', 'Tim'])[1 + i % 16] AS first,
  (ARRAY['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Hamilton', 'Ritchie',
         'Perlman', 'McCarthy', 'Goldwasser', 'Lamport', 'Wilson', 'Berners-Lee'])[1 + (i * 7) % 16] AS last) f;

INSERT INTO secrets.api_tokens (id, service, token, created_at)
SELECT i, (ARRAY['stripe', 'github', 'slack', 'salesforce', 'aws'])[i],
       'demo_fake_' || md5('api-token-' || i), timestamptz '2025-06-01 00:00:00+00' + make_interval(days => i)
FROM generate_series(1, 5) AS i;

-- Views run with their owner's rights: they are how the read tier sees data. None reads contacts or secrets.

-- Revenue per region and quarter of 2025: always exactly 16 rows (4 regions x 4 quarters, zeros included).
CREATE VIEW reporting.revenue_summary AS
SELECT r.region,
       '2025-Q' || q.n AS quarter,
       count(i.id)::integer AS invoice_count,
       coalesce(sum(i.amount), 0)::numeric(14, 2) AS invoiced,
       coalesce(sum(i.amount) FILTER (WHERE i.status = 'paid'), 0)::numeric(14, 2) AS collected,
       coalesce(sum(i.amount) FILTER (WHERE i.status <> 'paid'), 0)::numeric(14, 2) AS outstanding,
       (SELECT count(*) FROM sales.opportunities o JOIN sales.accounts oa ON oa.id = o.account_id
         WHERE o.stage = 'closed_won' AND oa.region = r.region
           AND o.close_date >= q.quarter_start AND o.close_date < q.quarter_start + interval '3 months')::integer
         AS won_deals,
       (SELECT coalesce(sum(o.amount), 0) FROM sales.opportunities o JOIN sales.accounts oa ON oa.id = o.account_id
         WHERE o.stage = 'closed_won' AND oa.region = r.region
           AND o.close_date >= q.quarter_start AND o.close_date < q.quarter_start + interval '3 months')::numeric(14, 2)
         AS won_amount
FROM (SELECT DISTINCT region FROM sales.accounts) r
CROSS JOIN (SELECT n, make_date(2025, 3 * n - 2, 1) AS quarter_start FROM generate_series(1, 4) AS n) q
LEFT JOIN (sales.invoices i JOIN sales.accounts ia ON ia.id = i.account_id)
  ON ia.region = r.region AND i.issued_on >= q.quarter_start AND i.issued_on < q.quarter_start + interval '3 months'
GROUP BY r.region, q.n, q.quarter_start
ORDER BY r.region, q.n;

-- Open pipeline per rep and quarter against target: exactly 16 rows (8 reps x 2 quarters of 2026).
CREATE VIEW reporting.pipeline_coverage AS
SELECT t.owner_email,
       extract(year FROM t.quarter_start) || '-Q' || extract(quarter FROM t.quarter_start) AS quarter,
       t.target,
       count(o.id)::integer AS open_deals,
       coalesce(sum(o.amount), 0)::numeric(14, 2) AS pipeline,
       coalesce(sum(o.amount * CASE o.stage WHEN 'prospecting' THEN 0.1 WHEN 'qualification' THEN 0.2
                                            WHEN 'proposal' THEN 0.4 WHEN 'negotiation' THEN 0.7 END), 0)
         ::numeric(14, 2) AS weighted_pipeline,
       coalesce(sum(o.amount) FILTER (WHERE o.stage = 'negotiation'), 0)::numeric(14, 2) AS in_negotiation,
       round(coalesce(sum(o.amount), 0) / t.target, 2) AS coverage
FROM sales.quotas t
LEFT JOIN sales.opportunities o
  ON o.owner_email = t.owner_email
 AND o.stage IN ('prospecting', 'qualification', 'proposal', 'negotiation')
 AND o.close_date >= t.quarter_start AND o.close_date < t.quarter_start + interval '3 months'
GROUP BY t.owner_email, t.quarter_start, t.target
ORDER BY t.owner_email, t.quarter_start;

-- Opportunity list without PII, for per-owner read tools (e.g. my_opportunities: WHERE owner_email = $1).
CREATE VIEW reporting.opportunities AS
SELECT o.id, o.account_id, a.name AS account_name, o.name, o.stage, o.amount, o.close_date, o.owner_email
FROM sales.opportunities o
JOIN sales.accounts a ON a.id = o.account_id;

GRANT USAGE ON SCHEMA reporting TO gatehouse_reporting, gatehouse_diagnostic;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO gatehouse_reporting, gatehouse_diagnostic;

GRANT USAGE ON SCHEMA sales TO gatehouse_diagnostic, gatehouse_writer;
GRANT SELECT ON sales.accounts, sales.opportunities, sales.invoices TO gatehouse_diagnostic;
GRANT SELECT (id, stage, owner_email), UPDATE (stage) ON sales.opportunities TO gatehouse_writer;

COMMIT;
