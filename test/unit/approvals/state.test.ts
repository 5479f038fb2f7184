import { describe, expect, it } from "vitest";
import { mayDecide, writeDecision, type ApprovalView } from "../../../src/approvals/state";

const at = (status: ApprovalView["status"], expires_at = 2000, tool_version = "v1"): ApprovalView => ({ id: "a1", status, expires_at, tool_version });

describe("write decisions (approval state machine)", () => {
  it("asks for approval when there is no request", () => expect(writeDecision(null, "v1", 1000)).toEqual({ kind: "request" }));
  it("waits while pending", () => expect(writeDecision(at("pending"), "v1", 1000)).toEqual({ kind: "wait", id: "a1" }));
  it("expires a pending request at its expiry", () => expect(writeDecision(at("pending"), "v1", 2000)).toEqual({ kind: "refuse", id: "a1", reason: "expired" }));
  it("executes an approved, unexpired request", () => expect(writeDecision(at("approved"), "v1", 1999)).toEqual({ kind: "execute", id: "a1" }));
  it("refuses an approved request past expiry", () => expect(writeDecision(at("approved"), "v1", 2000)).toMatchObject({ kind: "refuse", reason: "expired" }));
  it("refuses when the tool changed after approval", () => expect(writeDecision(at("approved"), "v2", 1000)).toMatchObject({ kind: "refuse", reason: "tool_changed" }));
  it("refuses a denied request", () => expect(writeDecision(at("denied"), "v1", 1000)).toMatchObject({ kind: "refuse", reason: "denied" }));
  it.each(["executing", "executed", "failed"] as const)("refuses reuse of a %s request", (s) => expect(writeDecision(at(s), "v1", 1000)).toMatchObject({ kind: "refuse", reason: "already_used" }));
  it.each(["executing", "executed", "failed"] as const)("files a new request once a %s request's lifetime is over", (s) => {
    expect(writeDecision(at(s), "v1", 1999)).toMatchObject({ kind: "refuse", reason: "already_used" });
    expect(writeDecision(at(s), "v1", 2000)).toEqual({ kind: "request" });
  });
  it("lets a member of the approver group decide, never the requester", () => {
    expect(mayDecide(["approvers"], "approvers", "user:m", "user:w")).toBe(true);
    expect(mayDecide(["approvers"], "approvers", "user:w", "user:w")).toBe(false);
    expect(mayDecide(["sales"], "approvers", "user:m", "user:w")).toBe(false);
  });
});

describe("after a refusal has been reported", () => {
  it("files a new request for a denied or expired one, but never reuses an executed one", () => {
    expect(writeDecision({ ...at("denied"), refusal_reported: 1 }, "v1", 1000)).toEqual({ kind: "request" });
    expect(writeDecision({ ...at("pending", 500), refusal_reported: 1 }, "v1", 1000)).toEqual({ kind: "request" });
    expect(writeDecision({ ...at("approved"), refusal_reported: 1 }, "v2", 1000)).toEqual({ kind: "request" });
    expect(writeDecision({ ...at("executed"), refusal_reported: 1 }, "v1", 1000)).toMatchObject({ kind: "refuse", reason: "already_used" });
  });
});
