import { nowSeconds } from "../lib/clock";
import { verifyChain, type AuditRow, type ChainVerdict } from "./chain";
import { sealAudit } from "./seal-d1";

/**
 * Seals, then verifies the deployment's whole chain against its anchor (docs/audit.md). Only the verdict leaves this
 * function: a workspace admin learns whether the chain is intact (or where it breaks), never other rows' content.
 */
export async function verifyDeploymentChain(db: D1Database): Promise<ChainVerdict> {
  await sealAudit(db, nowSeconds() * 1000);
  const anchor = await db.prepare("SELECT seq, hash FROM audit_anchor WHERE id = 1").first<{ seq: number; hash: string }>();
  const rows: AuditRow[] = [];
  for (let after = 0; ; ) {
    const page = (await db.prepare("SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 5000").bind(after).all<AuditRow>()).results;
    rows.push(...page);
    if (page.length < 5000) break;
    after = page[page.length - 1]!.seq;
  }
  return verifyChain(rows, anchor);
}
