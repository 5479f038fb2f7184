import { describe, expect, it } from "vitest";
import { mapSqlState } from "../../../src/tools/pg-errors";

describe("mapSqlState", () => {
  it.each([
    ["57014", "timeout"],
    ["42501", "permission_denied"],
    ["25006", "read_only"],
    ["22P02", "invalid_value"],
    ["53200", "resource_limit"],
    ["28P01", "unavailable"],
    ["42P01", "query_error"],
    ["XX000", "database_error"],
    [undefined, "database_error"],
  ])("maps %s to %s", (code, rule) => {
    expect(mapSqlState(code, { timeoutMs: 100 }).rule).toBe(rule);
  });
  it("says a terminated backend (57P01: pg_terminate_backend, as revoking a dynamic login does, or a shutdown) ended the query", () => {
    expect(mapSqlState("57P01", { timeoutMs: 100 })).toEqual({ rule: "terminated", message: expect.stringContaining("revocation of this access") });
    expect(mapSqlState("57P03", { timeoutMs: 100 }).rule).toBe("unavailable");
  });
  it("states the tool's time limit on a timeout", () => {
    expect(mapSqlState("57014", { timeoutMs: 1500 }).message).toContain("1500 ms");
  });
});
