import type { CompiledPolicy } from "./compile";
import type { Grant, ToolDefinition } from "./types";

export interface PolicyChange {
  op: "+" | "-" | "~";
  kind: "tool" | "grant" | "principal" | "membership";
  name: string;
  detail?: string;
}

const grantKey = (g: Grant) => `${g.tool} → ${g.subject.kind === "principal" ? g.subject.id : `group:${g.subject.name}`}${g.expiresAt ? ` (until ${new Date(g.expiresAt * 1000).toISOString()})` : ""}`;

/** Fields whose change alters what a tool does or may do; listed so a reviewer sees what moved. */
function changedFields(a: ToolDefinition, b: ToolDefinition): string[] {
  const fields: Array<keyof ToolDefinition> = [
    "kind",
    "dbRole",
    "tier",
    "secret",
    "sql",
    "relations",
    "inputSchema",
    "bind",
    "identity",
    "safeParams",
    "limits",
    "annotations",
    "requiresApproval",
    "approverGroup",
    "title",
    "description",
  ];
  return fields.filter((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f]));
}

function setDiff<T>(before: Map<string, T>, after: Map<string, T>, kind: PolicyChange["kind"]): PolicyChange[] {
  const out: PolicyChange[] = [];
  for (const k of after.keys()) if (!before.has(k)) out.push({ op: "+", kind, name: k });
  for (const k of before.keys()) if (!after.has(k)) out.push({ op: "-", kind, name: k });
  return out;
}

/** What applying `after` over `before` changes, in a stable order: tools, grants, principals, memberships. */
export function diffPolicies(before: CompiledPolicy | undefined, after: CompiledPolicy): PolicyChange[] {
  const bTools = new Map((before?.tools ?? []).map((t) => [t.name, t]));
  const aTools = new Map(after.tools.map((t) => [t.name, t]));
  const changes: PolicyChange[] = setDiff(bTools, aTools, "tool");
  for (const [name, t] of aTools) {
    const old = bTools.get(name);
    if (old && old.version !== t.version) changes.push({ op: "~", kind: "tool", name, detail: changedFields(old, t).join(", ") });
  }
  changes.push(...setDiff(new Map((before?.grants ?? []).map((g) => [grantKey(g), g])), new Map(after.grants.map((g) => [grantKey(g), g])), "grant"));
  changes.push(...setDiff(new Map((before?.principals ?? []).map((p) => [p.id, p])), new Map(after.principals.map((p) => [p.id, p])), "principal"));
  const mk = (m: { principal: string; group: string }) => `${m.principal} ∈ ${m.group}`;
  changes.push(...setDiff(new Map((before?.members ?? []).map((m) => [mk(m), m])), new Map(after.members.map((m) => [mk(m), m])), "membership"));
  const order = { tool: 0, grant: 1, principal: 2, membership: 3 } as const;
  return changes.sort((x, y) => order[x.kind] - order[y.kind] || x.name.localeCompare(y.name));
}

export function formatChanges(changes: PolicyChange[]): string {
  if (changes.length === 0) return "no changes";
  return changes.map((c) => `${c.op} ${c.kind} ${c.name}${c.detail ? `: ${c.detail}` : ""}`).join("\n");
}
