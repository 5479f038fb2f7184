import type { Grant, PolicySnapshot, Principal, ToolDefinition } from "./types";
import type { Tier } from "./tiers";

/** Deny by default: a grant matches when it names the principal or one of its groups and has not expired. */
export function grantMatches(grant: Grant, principal: Principal, now: number): boolean {
  if (grant.expiresAt !== undefined && grant.expiresAt <= now) return false;
  return grant.subject.kind === "principal" ? grant.subject.id === principal.id : principal.groups.includes(grant.subject.name);
}

/** Groups of a principal: the IdP's (from the token) plus the policy's. */
export function principalGroups(snapshot: PolicySnapshot, principalId: string, tokenGroups: readonly string[]): string[] {
  const set = new Set(tokenGroups);
  for (const g of snapshot.members.get(principalId) ?? []) set.add(g);
  return [...set];
}

/** Tools the principal is granted right now, in policy order. */
export function grantedTools(snapshot: PolicySnapshot, principal: Principal, now: number): ToolDefinition[] {
  const names = new Set<string>();
  for (const g of snapshot.grants) if (grantMatches(g, principal, now)) names.add(g.tool);
  return [...snapshot.tools.values()].filter((t) => names.has(t.name));
}

export type ToolAccess = { kind: "allowed"; tool: ToolDefinition } | { kind: "not_granted" } | { kind: "out_of_scope"; tool: ToolDefinition };

/** Decides a call: the tool must be granted and its tier must be in the token's scope. */
export function toolAccess(granted: readonly ToolDefinition[], scopeTiers: readonly Tier[], name: string): ToolAccess {
  const tool = granted.find((t) => t.name === name);
  if (!tool) return { kind: "not_granted" };
  if (!scopeTiers.includes(tool.tier)) return { kind: "out_of_scope", tool };
  return { kind: "allowed", tool };
}

/** Tools to list: granted and within the token's scope. */
export function visibleTools(granted: readonly ToolDefinition[], scopeTiers: readonly Tier[]): ToolDefinition[] {
  return granted.filter((t) => scopeTiers.includes(t.tier));
}
