import { grantedTools, principalGroups } from "../policy/evaluate";
import { policyAt, workspacesListing } from "../policy/store-d1";
import type { Tier } from "../policy/tiers";

/** Name of the policy group whose members may use the admin API. */
export const ADMIN_GROUP = "admins";

export interface WorkspaceAccess {
  workspace: string;
  tiers: Set<Tier>;
  toolsByTier: Map<Tier, string[]>;
  isAdmin: boolean;
  /** Member of some tool's approver group: may be granted the gatehouse:approve scope. */
  isApprover: boolean;
  groups: string[];
}

/** What a signed-in user may be granted, per workspace the policy lists them in. */
export async function accessFor(db: D1Database, principalId: string, email: string, idpGroups: string[], now: number): Promise<WorkspaceAccess[]> {
  const out: WorkspaceAccess[] = [];
  for (const { workspace: ws, version: v } of await workspacesListing(db, principalId)) {
    const snapshot = await policyAt(db, ws, v);
    const groups = principalGroups(snapshot, principalId, idpGroups);
    const tools = grantedTools(snapshot, { id: principalId, kind: "user", email, groups, workspace: ws }, now);
    const toolsByTier = new Map<Tier, string[]>();
    for (const t of tools) toolsByTier.set(t.tier, [...(toolsByTier.get(t.tier) ?? []), t.name]);
    const approverGroups = new Set([...snapshot.tools.values()].map((t) => t.approverGroup).filter((g): g is string => g !== undefined));
    out.push({ workspace: ws, tiers: new Set(toolsByTier.keys()), toolsByTier, isAdmin: groups.includes(ADMIN_GROUP), isApprover: groups.some((g) => approverGroups.has(g)), groups });
  }
  return out;
}
