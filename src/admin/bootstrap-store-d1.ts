/** Owns bootstrap_spent: the one-row marker that the deployment's bootstrap token has applied the first policy. */

/** Whether a bootstrap has already applied a policy. */
export async function isBootstrapSpent(db: D1Database): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM bootstrap_spent").first()) !== null;
}

/**
 * The marker row, committed in the first policy's batch. Its fixed primary key refuses a second bootstrap's
 * marker, so a concurrent bootstrap's whole batch rolls back.
 */
export function spendBootstrapStatement(db: D1Database, workspace: string, at: Date): D1PreparedStatement {
  return db.prepare("INSERT INTO bootstrap_spent (id, workspace_id, applied_at) VALUES (1, ?, ?)").bind(workspace, at.toISOString());
}
