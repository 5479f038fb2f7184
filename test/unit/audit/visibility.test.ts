import { describe, expect, it } from "vitest";
import { auditScope, parseOperators } from "../../../src/audit/visibility";
import { auditQuery } from "../../../src/audit/query";

describe("audit visibility", () => {
  it("reads OPERATORS as lower-case emails separated by commas or spaces, ignoring anything else", () => {
    expect([...parseOperators(" Ops@Example.com, sre@example.com  not-an-email,")]).toEqual(["ops@example.com", "sre@example.com"]);
    expect(parseOperators(undefined).size).toBe(0);
    expect(parseOperators("").size).toBe(0);
  });

  it("gives operators the deployment and everyone else their own workspace; a task is never an operator", () => {
    const ops = parseOperators("ops@example.com");
    expect(auditScope({ id: "user:ops@example.com", kind: "user", workspace: "b" }, ops)).toEqual({ kind: "deployment" });
    expect(auditScope({ id: "user:admin@example.com", kind: "user", workspace: "demo" }, ops)).toEqual({ kind: "workspace", workspace: "demo" });
    expect(auditScope({ id: "task:ops@example.com", kind: "task", workspace: "b" }, ops)).toEqual({ kind: "workspace", workspace: "b" });
  });

  it("selects rows of no workspace with an empty workspace filter", () => {
    const q = auditQuery(new URLSearchParams("workspace=&event=client.registered"), 100);
    expect(q.ok && q.query.where).toBe("seq > ? AND workspace IS NULL AND event = ?");
    expect(q.ok && q.query.params).toEqual([0, "client.registered"]);
  });

  it("filters by a dynamic credential's Postgres login (db_login)", () => {
    const q = auditQuery(new URLSearchParams("login=gh_0123456789abcdef"), 100);
    expect(q.ok && q.query.where).toBe("seq > ? AND db_login = ?");
    expect(q.ok && q.query.params).toEqual([0, "gh_0123456789abcdef"]);
  });
});
