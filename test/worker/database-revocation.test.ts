import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { postJson } from "./oauth-helpers";
import { tokenFor } from "./tokens";

// A revocation reaches the database (src/oauth/database-logins.ts): in this pool DB_URL_DIAGNOSTIC is a dynamic
// credential of workspace demo whose broker cannot be reached (vitest.config.ts), so every revocation there meets a
// failing broker. The revocation stands all the same, and the failure is an audit row of its own.

describe("a revocation with a dynamic credential whose broker fails", () => {
  it("answers 200, the revocation stands, and the broker's failure is recorded as a revocation.database row", async () => {
    const admin = await tokenFor("admin@example.com", "gatehouse:admin");
    const jti = `jti-${crypto.randomUUID()}`;
    const res = await postJson("/admin/api/revocations", { kind: "token", value: jti }, { Authorization: `Bearer ${admin}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ revoked: { kind: "token", value: jti } });
    expect(await env.DB.prepare("SELECT kind FROM revocations WHERE value = ?").bind(jti).first()).toEqual({ kind: "token" });
    const rows = await env.DB.prepare("SELECT outcome, rule, principal, workspace, token_jti AS jti, detail FROM audit_events WHERE event = 'revocation.database' AND token_jti = ?").bind(jti).all();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]).toMatchObject({ outcome: "error", rule: "token", principal: "user:admin@example.com", workspace: "demo", jti });
    expect(rows.results[0]!.detail).toMatch(/^DB_URL_DIAGNOSTIC: the broker (could not be reached|did not answer in time)$/);
  });
});
