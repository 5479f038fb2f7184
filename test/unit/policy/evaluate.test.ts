import { describe, expect, it } from "vitest";
import { grantedTools, principalGroups, toolAccess } from "../../../src/policy/evaluate";
import type { PolicySnapshot, Principal, ToolDefinition } from "../../../src/policy/types";

const tool = (name: string, tier: "read" | "sql" | "write") => ({ name, tier }) as ToolDefinition;
const snapshot: PolicySnapshot = {
  workspace: "w",
  version: 1,
  tools: new Map([
    ["a", tool("a", "read")],
    ["b", tool("b", "sql")],
    ["c", tool("c", "read")],
  ]),
  grants: [
    { tool: "a", subject: { kind: "group", name: "g" } },
    { tool: "b", subject: { kind: "principal", id: "user:x@e.com" } },
    { tool: "c", subject: { kind: "principal", id: "user:x@e.com" }, expiresAt: 1000 },
  ],
  members: new Map([["user:x@e.com", ["g"]]]),
};
const x: Principal = { id: "user:x@e.com", kind: "user", groups: ["g"], workspace: "w" };

describe("policy evaluation", () => {
  it("grants by principal and by group, deny by default", () => {
    expect(grantedTools(snapshot, x, 999).map((t) => t.name)).toEqual(["a", "b", "c"]);
    expect(grantedTools(snapshot, { ...x, id: "user:y@e.com", groups: [] }, 999)).toEqual([]);
  });
  it("drops a grant at its expiry", () => {
    expect(grantedTools(snapshot, x, 1000).map((t) => t.name)).toEqual(["a", "b"]);
  });
  it("merges IdP groups from the token with policy groups", () => {
    expect(principalGroups(snapshot, "user:x@e.com", ["idp"]).sort()).toEqual(["g", "idp"]);
  });
  it("tells a granted tool outside the token's scope from one not granted", () => {
    const granted = grantedTools(snapshot, x, 0);
    expect(toolAccess(granted, ["read"], "b").kind).toBe("out_of_scope");
    expect(toolAccess(granted, ["read", "sql"], "b").kind).toBe("allowed");
    expect(toolAccess(granted, ["read"], "zzz").kind).toBe("not_granted");
  });
});
