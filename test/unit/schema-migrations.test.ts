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

function database(...scripts: string[]): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  for (const sql of scripts) db.exec(sql);
  return db;
}

const migrated = () => database(...migrationFiles().map(readMigration));

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

  it("the fixture is the first release's schema.sql from git history (skipped where history is absent)", (ctx) => {
    let historic: string;
    try {
      historic = execFileSync("git", ["show", `${FIRST_RELEASE}:schema.sql`], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      ctx.skip();
      return;
    }
    expect(read("test/fixtures/d1-release-1/schema.sql")).toBe(historic);
  });

  it("name in ADDED_COLUMNS, oldest first, every audit_events column the first release did not have", () => {
    const columns = (db: DatabaseSync) => (db.prepare("SELECT name FROM pragma_table_info('audit_events') ORDER BY cid").all() as Array<{ name: string }>).map((c) => c.name);
    const first = new Set(columns(database(read("test/fixtures/d1-release-1/schema.sql"))));
    expect(columns(migrated()).filter((c) => !first.has(c))).toEqual([...ADDED_COLUMNS]);
  });
});
