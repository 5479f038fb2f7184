import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { ADDED_COLUMNS } from "../../src/audit/chain";
import { describeSchema, migrationFiles, readMigration } from "../support/sqlite-schema";

// schema.sql is the whole current D1 schema; migrations/ is how a deployment gets there (docs/deployment.md
// "Upgrading"). Whoever changes one must change the other: these tests fail until both agree.
const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");
const FIRST_RELEASE = "e793a5d";
// The second release (stop 17 landed bf2bc03): schema.sql still created D1 directly.
const SECOND_RELEASE = "bf2bc03";

function database(...scripts: string[]): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  for (const sql of scripts) db.exec(sql);
  return db;
}

const migrated = () => database(...migrationFiles().map(readMigration));

/** What `wrangler d1 migrations apply` does after scripts/d1-adopt-migrations.sql: runs each unrecorded migration. */
function adoptAndApply(db: DatabaseSync): string[] {
  db.exec(read("scripts/d1-adopt-migrations.sql"));
  const adopted = (db.prepare("SELECT name FROM d1_migrations ORDER BY id").all() as Array<{ name: string }>).map((m) => m.name);
  for (const name of migrationFiles()) {
    if (adopted.includes(name)) continue;
    db.exec(readMigration(name));
    db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").run(name);
  }
  return adopted;
}

describe("D1 migrations and schema.sql", () => {
  it("are numbered NNNN_name.sql from 0001 without gaps or duplicates", () => {
    const files = migrationFiles();
    for (const f of files) expect(f).toMatch(/^\d{4}_[a-z0-9_]+\.sql$/);
    expect(files.map((f) => Number(f.slice(0, 4)))).toEqual(files.map((_, i) => i + 1));
  });

  it("build the same schema: every migration applied to an empty database equals schema.sql applied to another", () => {
    expect(describeSchema(migrated())).toEqual(describeSchema(database(read("schema.sql"))));
  });

  it("schema.sql stays re-runnable over itself", () => {
    const schema = read("schema.sql");
    expect(describeSchema(database(schema, schema))).toEqual(describeSchema(database(schema)));
  });

  it("start from the first release: 0001 builds what that release's schema.sql built", () => {
    expect(describeSchema(database(readMigration(migrationFiles()[0]!)))).toEqual(describeSchema(database(read("test/fixtures/d1-release-1/schema.sql"))));
  });

  it.for([
    ["d1-release-1", FIRST_RELEASE],
    ["d1-release-2", SECOND_RELEASE],
  ] as const)("the fixture %s/schema.sql is that release's schema.sql from git history (skipped where history is absent)", ([fixture, commit], ctx) => {
    let historic: string;
    try {
      historic = execFileSync("git", ["show", `${commit}:schema.sql`], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      ctx.skip();
      return;
    }
    expect(read(`test/fixtures/${fixture}/schema.sql`)).toBe(historic);
  });

  describe("adoption by a database created from schema.sql before migrations existed", () => {
    const current = () => describeSchema(database(read("schema.sql")));

    it("first release: records 0001 only, and the rest bring it to schema.sql", () => {
      const db = database(read("test/fixtures/d1-release-1/schema.sql"));
      expect(adoptAndApply(db)).toEqual(["0001_first_release.sql"]);
      expect(describeSchema(db)).toEqual(current());
    });

    it("second release: records 0001–0003 (0003 would fail on its trace_id), and the rest bring it to schema.sql", () => {
      const release2 = read("test/fixtures/d1-release-2/schema.sql");
      expect(() => database(release2, ...migrationFiles().slice(1).map(readMigration))).toThrow(/duplicate column name: trace_id/);
      const db = database(release2);
      expect(adoptAndApply(db)).toEqual(["0001_first_release.sql", "0002_revocations_per_workspace.sql", "0003_audit_trace_id.sql"]);
      // Its audit_events has trace_id before prev_hash, where that schema.sql put it; the chain sorts columns by name.
      expect(describeSchema(db, { columnOrder: false })).toEqual(describeSchema(database(read("schema.sql")), { columnOrder: false }));
    });

    it("first release with the second release's schema.sql re-run over it (that release's upgrade advice): 0001 only", () => {
      const db = database(read("test/fixtures/d1-release-1/schema.sql"), read("test/fixtures/d1-release-2/schema.sql"));
      expect(adoptAndApply(db)).toEqual(["0001_first_release.sql"]);
      expect(describeSchema(db)).toEqual(current());
    });

    it("changes nothing on a database that already uses migrations, and records nothing on an empty one", () => {
      const db = migrated();
      db.exec("CREATE TABLE d1_migrations(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)");
      for (const name of migrationFiles()) db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").run(name);
      expect(adoptAndApply(db)).toEqual(migrationFiles());
      expect(adoptAndApply(database())).toEqual([]);
    });
  });

  it("name in ADDED_COLUMNS, oldest first, every audit_events column the first release did not have", () => {
    const columns = (db: DatabaseSync) => (db.prepare("SELECT name FROM pragma_table_info('audit_events') ORDER BY cid").all() as Array<{ name: string }>).map((c) => c.name);
    const first = new Set(columns(database(read("test/fixtures/d1-release-1/schema.sql"))));
    expect(columns(migrated()).filter((c) => !first.has(c))).toEqual([...ADDED_COLUMNS]);
  });
});
