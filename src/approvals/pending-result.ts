import type { CallToolResult } from "@modelcontextprotocol/server";

/** The console page of one request: the deep link an approver follows from the tool result or the webhook. */
export function approvalConsoleUrl(issuer: string, id: string): string {
  return `${issuer}/console/approvals/${encodeURIComponent(id)}`;
}

/**
 * The normal (non-error) result of a write call that waits for a person: the request id, who can decide, where,
 * and that repeating the identical call after approval runs it (README "Write tools and approvals").
 */
export function pendingResult(a: { id: string; tool: string; approverGroup: string; expiresAt: number; issuer: string; created: boolean }): CallToolResult {
  const expires = new Date(a.expiresAt * 1000).toISOString();
  const url = approvalConsoleUrl(a.issuer, a.id);
  const notice = [
    `${a.created ? "Approval requested" : "Still waiting for approval"}: request ${a.id} (${a.tool}), expires ${expires}.`,
    `A member of "${a.approverGroup}" (not you) approves or denies it in the console at ${url}, with \`gatehouse approvals approve ${a.id}\`, or by POST to ${a.issuer}/admin/api/approvals/${a.id}/approve.`,
    `After approval, call ${a.tool} again with exactly the same arguments to run it once.`,
  ].join(" ");
  return {
    content: [{ type: "text", text: notice }],
    structuredContent: {
      columns: [],
      rows: [],
      row_count: 0,
      truncated: false,
      limit: 0,
      notice,
      approval: { id: a.id, status: "pending", expires_at: expires, approver_group: a.approverGroup, url },
    },
  };
}
