import { describe, expect, inject, it } from "vitest";
import { devPost } from "../../local/stack";
import { gatehouseCli } from "../support/gatehouse-cli";
import { connectClient, devToken } from "../support/mcp-client";

const e2e = inject("e2e");
const gatehouse = (...args: string[]) => gatehouseCli(e2e, ...args, "--dev");

// The archive and signed heads on the local stack: wrangler dev with Miniflare's R2 (persisted beside the local D1)
// and the AUDIT_ANCHOR_KEY local/secrets.ts generated. The gateway's clock moves two hours on (dev only) for one Cron
// run, so every row written so far belongs to a finished hour and is archived.

describe("audit archive on the local stack", () => {
  it("publishes the anchor key, archives and signs on the Cron run, and `audit verify --archive` and `audit export` read archive and hot window together", async () => {
    const published = await fetch(`${e2e.workerUrl}/.well-known/gatehouse-audit-anchor.json`);
    expect(published.status).toBe(200);
    const jwks = (await published.json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
    expect(jwks.keys[0]).not.toHaveProperty("d");

    const client = await connectClient(e2e.mcpUrl, await devToken(e2e, { user: "wes@example.com" }));
    await client.callTool({ name: "pipeline_coverage", arguments: { quarter: "2026-Q2" } });
    await client.close();

    try {
      expect((await devPost(e2e, "/dev/clock", { offset_seconds: 7200 })).status).toBe(200);
      const cron = await fetch(`${e2e.workerUrl}/__scheduled?cron=*+*+*+*+*`);
      expect(cron.status).toBe(200);

      const verified = await gatehouse("audit", "verify", "--archive");
      expect(verified.stderr).toBe("");
      expect(verified.code).toBe(0);
      expect(verified.stdout).toMatch(/^audit chain OK: \d+ sealed rows \(archive and hot window\)/);

      // Every row once, in seq order, whether it came from the archive or from D1.
      const exported = await gatehouse("audit", "export");
      expect(exported.code).toBe(0);
      const seqs = exported.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { seq: number }).seq);
      expect(seqs.length).toBeGreaterThan(0);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      // The same rows as OCSF events (src/audit/ocsf.ts; required fields: test/unit/audit/ocsf.test.ts).
      const ocsf = await gatehouse("audit", "export", "--format", "ocsf");
      expect(ocsf.code).toBe(0);
      const events = ocsf.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { class_uid: number; metadata: { sequence: number; version: string } });
      expect(events.map((e) => e.metadata.sequence)).toEqual(seqs);
      expect(events.every((e) => [3002, 3003, 6003].includes(e.class_uid) && e.metadata.version === "1.3.0")).toBe(true);
      const archived = await fetch(`${e2e.workerUrl}/admin/api/audit/archive`, {
        headers: { Authorization: `Bearer ${await devToken(e2e, { user: "admin@example.com", scope: "gatehouse:admin" })}` },
      });
      expect(Number(archived.headers.get("x-archive-end"))).toBeGreaterThan(0);
    } finally {
      await devPost(e2e, "/dev/clock", { offset_seconds: 0 });
    }
  });
});
