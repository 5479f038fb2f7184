import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { migrateLocalD1 } from "../../local/d1";
import { freePort } from "../../local/postgres";
import { dotenv } from "../../local/secrets";
import { ROOT, runWrangler, startWranglerDev, type WranglerDev } from "../../local/wrangler";
import { verifyChain, type AuditRow } from "../../src/audit/chain";
import { signAccessToken } from "../../src/oauth/access-token";
import type { AccessClaims } from "../../src/oauth/claims";
import { loadKeyRing } from "../../src/oauth/keys";
import { jwtPayload, readLocalD1 } from "../support/d1";
import { stackWorkerVars } from "../support/deployed-worker";
import { devToken } from "../support/mcp-client";
import { migrationFiles } from "../support/sqlite-schema";

// README/docs/deployment.md "Upgrading": a D1 created by the first release (its schema.sql, e793a5d) and written
// by that release's own code — test/fixtures/d1-release-1/data.sql is a `wrangler d1 export` of a release-1 dev
// stack after OAuth sign-ins with a refresh, a task client's call, approvals (one executed, one pending), a
// session and a user revoked by the admin, and a chain sealed up to seq 40 (seq 41 unsealed). It is upgraded the
// way a deployment is (adopt, then `wrangler d1 migrations apply`) and must lose nothing.
// The fixture, not `git show`, is the source: a clone made with --depth or a source tarball has no history.
const e2e = inject("e2e");
const FIXTURE = join(ROOT, "test/fixtures/d1-release-1");

/** Each table of the first release with the columns it had and its key, the order rows are compared in. */
const RELEASE_1_TABLES: Record<string, string> = {
  policy_versions: "workspace_id, version",
  principals: "workspace_id, id",
  group_members: "workspace_id, group_name, principal_id",
  tools: "workspace_id, name",
  grants: "workspace_id, tool_name, subject_kind, subject",
  audit_events: "seq",
  oauth_clients: "client_id",
  auth_requests: "id",
  auth_codes: "code_hash",
  sessions: "id",
  refresh_tokens: "token_hash",
  oidc_logins: "state",
  audit_anchor: "id",
  approvals: "id",
};

let dir: string;
let worker: WranglerDev | undefined;
const before: Record<string, unknown[]> = {};
let revocationsBefore: Array<Record<string, unknown>> = [];
let migrateOutput = "";

const read = <T = Record<string, unknown>>(sql: string) => readLocalD1<T>(dir, sql);
const columnsOf = async (table: string) => (await read<{ name: string }>(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`)).map((c) => c.name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-upgrade-"));
  const persistTo = join(dir, "wrangler");
  // The release's schema.sql, then its rows, in one wrangler run (each run starts its own local D1).
  const release1 = join(dir, "release-1.sql");
  await writeFile(release1, `${await readFile(join(FIXTURE, "schema.sql"), "utf8")}\n${await readFile(join(FIXTURE, "data.sql"), "utf8")}`);
  await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", release1]);
  for (const [table, key] of Object.entries(RELEASE_1_TABLES)) {
    before[table] = await read(`SELECT ${(await columnsOf(table)).join(", ")} FROM ${table} ORDER BY ${key}`);
  }
  revocationsBefore = await read("SELECT kind, value, revoked_at, revoked_by, reason FROM revocations ORDER BY kind, value");
  migrateOutput = await migrateLocalD1(persistTo);
}, 240_000);

afterAll(async () => {
  await worker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("upgrading a first-release D1 with the migrations", () => {
  it("starts from a populated release-1 database", () => {
    expect(before.audit_events!.length).toBe(41);
    expect(before.sessions!.length).toBeGreaterThanOrEqual(2);
    expect(before.refresh_tokens!.length).toBeGreaterThanOrEqual(2);
    expect(before.approvals!.map((a) => (a as { status: string }).status).sort()).toEqual(["executed", "pending"]);
    expect(new Set(before.oauth_clients!.map((c) => (c as { kind: string }).kind))).toEqual(new Set(["public", "task"]));
    expect(revocationsBefore.map((r) => r.kind)).toEqual(["principal", "session"]);
    expect(before.policy_versions!.length).toBe(1);
  });

  it("adopts it (0001 recorded, not re-run) and applies every later migration", async () => {
    const applied = (await read<{ name: string }>("SELECT name FROM d1_migrations ORDER BY id")).map((m) => m.name);
    expect(applied).toEqual(migrationFiles());
    for (const name of migrationFiles().slice(1)) expect(migrateOutput).toContain(name);
    expect(migrateOutput).not.toContain(migrationFiles()[0]);
  });

  it("keeps every row of every first-release table with the values it had", async () => {
    for (const [table, key] of Object.entries(RELEASE_1_TABLES)) {
      const columns = Object.keys((before[table]![0] as object | undefined) ?? {});
      const after = columns.length ? await read(`SELECT ${columns.join(", ")} FROM ${table} ORDER BY ${key}`) : [];
      expect({ table, rows: after }).toEqual({ table, rows: before[table] });
    }
  });

  it("keeps every revocation, now per workspace: the session's in its own, the user's in every workspace", async () => {
    const after = await read<Record<string, unknown>>("SELECT workspace_id, kind, value, revoked_at, revoked_by, reason FROM revocations ORDER BY kind, value, workspace_id");
    const session = revocationsBefore.find((r) => r.kind === "session")!;
    const user = revocationsBefore.find((r) => r.kind === "principal")!;
    expect(after).toEqual([
      { workspace_id: "", ...user },
      { workspace_id: "demo", ...user },
      { workspace_id: "demo", ...session },
    ]);
  });

  it("the current verifier accepts the chain sealed by the first release, before anything new is sealed", async () => {
    const rows = await read<AuditRow>("SELECT * FROM audit_events ORDER BY seq");
    expect(rows.every((r) => r.trace_id === null)).toBe(true);
    const anchor = (await read<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_anchor WHERE id = 1"))[0];
    expect(await verifyChain(rows, anchor)).toEqual({ ok: true, rows: 40, head: { seq: 40, hash: anchor!.hash } });
  });

  it("serves calls on the upgraded database: the release-1 policy, a tool call with its trace id, and a chain that verifies", async () => {
    const port = await freePort();
    const workerUrl = `http://127.0.0.1:${port}`;
    const envFile = join(dir, "worker.env");
    await writeFile(envFile, dotenv({ ...(await stackWorkerVars(e2e.stateDir)), PUBLIC_ORIGIN: workerUrl }), { mode: 0o600 });
    worker = await startWranglerDev({ port, persistTo: join(dir, "wrangler"), envFile });
    const dev = { workerUrl, devSecret: e2e.devSecret };

    const alice = await devToken(dev, { user: "alice@example.com" });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await fetch(`${workerUrl}/mcp`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${alice}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "pipeline_coverage",
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "pipeline_coverage", arguments: { quarter: "2026-Q1" } } }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result?: { isError?: boolean; structuredContent?: { row_count?: number } } };
    expect(body.result?.isError).not.toBe(true);
    expect(body.result?.structuredContent?.row_count).toBeGreaterThan(0);

    // Revocations made by the first release still hold: a token of the session its admin revoked is refused (the
    // token is signed now with the stack's key; only its session id is the revoked one), while Dana signing in
    // after her own revocation works as it always did.
    const dana = await devToken(dev, { user: "dana@example.com" });
    const revokedSession = revocationsBefore.find((r) => r.kind === "session")!.value as string;
    const ring = await loadKeyRing((await stackWorkerVars(e2e.stateDir)).SIGNING_KEY, undefined);
    const claims = { ...(jwtPayload(dana) as unknown as AccessClaims), sid: revokedSession, jti: "upgrade-test-revoked-session" };
    const onRevoked = await signAccessToken(claims, ring);
    const list = (token: string) =>
      fetch(`${workerUrl}/mcp`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream", "Mcp-Method": "tools/list" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
      });
    expect((await list(dana)).status).toBe(200);
    expect((await list(onRevoked)).status).toBe(401);

    // The admin reads the whole chain through the API, which seals first.
    const admin = await devToken(dev, { user: "admin@example.com", scope: "gatehouse:admin" });
    const verify = await fetch(`${workerUrl}/admin/api/audit/verify`, { headers: { Authorization: `Bearer ${admin}` } });
    const verdict = (await verify.json()) as { ok: boolean; rows: number };
    expect(verdict).toMatchObject({ ok: true });
    expect(verdict.rows).toBeGreaterThan(41);

    const [call] = await read<{ outcome: string; trace_id: string | null; hash: string | null }>(
      "SELECT outcome, trace_id, hash FROM audit_events WHERE event = 'tool.call' ORDER BY seq DESC LIMIT 1",
    );
    expect(call).toMatchObject({ outcome: "ok", trace_id: traceId });
  });
});
