/**
 * Who reads which audit rows. A workspace admin reads its own workspace's rows only. Rows that belong to no
 * workspace (client registrations, OIDC sign-ins before a workspace is chosen, refused tokens of unknown
 * clients, unauthenticated /mcp requests) and every other workspace's rows are for the deployment's operators:
 * admins whose verified email the deployment lists in the `OPERATORS` variable. A policy cannot make anyone an
 * operator, so no workspace admin can grant itself the deployment's view.
 */
export type AuditScope = { kind: "deployment" } | { kind: "workspace"; workspace: string };

const EMAIL = /^[^\s@,]+@[^\s@,]+$/;

/** `OPERATORS`: emails separated by commas or spaces, compared lower-case; anything else is ignored. */
export function parseOperators(raw: unknown): ReadonlySet<string> {
  if (typeof raw !== "string") return new Set();
  return new Set(
    raw
      .split(/[\s,]+/)
      .map((e) => e.trim().toLowerCase())
      .filter((e) => EMAIL.test(e)),
  );
}

/** The rows an admin (already checked: admin scope, admins group) may read. Only user principals are operators. */
export function auditScope(principal: { id: string; kind: "user" | "task"; workspace: string }, operators: ReadonlySet<string>): AuditScope {
  const email = principal.kind === "user" && principal.id.startsWith("user:") ? principal.id.slice("user:".length) : undefined;
  return email !== undefined && operators.has(email) ? { kind: "deployment" } : { kind: "workspace", workspace: principal.workspace };
}
