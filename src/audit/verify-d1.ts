import { nowSeconds } from "../lib/clock";
import { verifyChain, type AuditRow, type ChainVerdict } from "./chain";
import { sealAudit } from "./seal-d1";
import { archiveProgress } from "./archive-r2";
import { archiveHead, junction, verifyArchiveSegment, type ArchiveCursor } from "./archive-read";
import { checkSignedAnchor, type AnchorEnv } from "./anchor-r2";

/** What verification reads besides D1: the archive bucket and the anchor key, when the deployment has them. */
export type VerifyEnv = Omit<AnchorEnv, "DB">;

async function d1Rows(db: D1Database): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  for (let after = 0; ; ) {
    const page = (await db.prepare("SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 5000").bind(after).all<AuditRow>()).results;
    rows.push(...page);
    if (page.length < 5000) break;
    after = page[page.length - 1]!.seq;
  }
  return rows;
}

/** D1's chain, where it meets the archive's head, and the latest signed head, in that order of checks. */
async function verifyHotWindow(db: D1Database, env: VerifyEnv, archive: { seq: number; hash: string } | null, archivedRows: number): Promise<ChainVerdict> {
  const anchor = await db.prepare("SELECT seq, hash FROM audit_anchor WHERE id = 1").first<{ seq: number; hash: string }>();
  const rows = await d1Rows(db);
  const verdict = await verifyChain(rows, null);
  if (!verdict.ok) return { ...verdict, rows: verdict.rows + archivedRows };
  // The chain's head: D1's, or the archive's when D1 holds nothing newer (everything old enough was purged).
  const head = verdict.head && (!archive || verdict.head.seq >= archive.seq) ? verdict.head : (archive ?? verdict.head);
  // D1's own record of the head (audit_anchor) catches a deleted tail.
  if (anchor && (!head || head.seq < anchor.seq || (head.seq === anchor.seq && head.hash !== anchor.hash)))
    return { ok: false, rows: archivedRows + verdict.rows, seq: anchor.seq, reason: "head_mismatch" };
  const beyond = archive ? rows.filter((r) => r.hash !== null && r.seq > archive.seq).length : verdict.rows;
  const broken = junction(rows, archive) ?? (await checkSignedAnchor({ ...env, DB: db }, rows, archive));
  if (broken) return { ...broken, rows: archivedRows };
  return { ok: true, rows: archivedRows + beyond, head };
}

/**
 * Seals, then verifies the deployment's chain in D1's hot window: each row, where it meets the R2 archive's head
 * (when there is an archive), and against the latest signed chain head (when AUDIT_ANCHOR_KEY is set); see
 * docs/audit.md. Only the verdict leaves this function: a workspace admin learns whether the chain is intact (or
 * where it breaks), never other rows' content.
 */
export async function verifyDeploymentChain(db: D1Database, env: VerifyEnv = { PUBLIC_ORIGIN: "" }): Promise<ChainVerdict> {
  await sealAudit(db, nowSeconds() * 1000);
  const archive = env.AUDIT_ARCHIVE ? await archiveHead(env.AUDIT_ARCHIVE, (await archiveProgress(db))?.index_key) : null;
  return verifyHotWindow(db, env, archive, 0);
}

export type ArchiveVerdict = ChainVerdict & { next?: { after: number; prev: string } };

/**
 * `audit verify --archive`, one bounded step at a time: archive batches from the cursor on (about `maxRows` rows a
 * step); the step that reaches the archive's end goes on to the hot window as above. A step that stops early returns
 * `next`, the cursor of the following step (the caller sums `rows`). The cursor only says where to continue: a
 * caller that forges it learns nothing but a verdict about the chain from there.
 */
export async function verifyWithArchive(db: D1Database, env: VerifyEnv, cursor: ArchiveCursor, maxRows: number): Promise<ArchiveVerdict> {
  if (!env.AUDIT_ARCHIVE) return verifyDeploymentChain(db, env);
  await sealAudit(db, nowSeconds() * 1000);
  const seg = await verifyArchiveSegment(env.AUDIT_ARCHIVE, cursor, maxRows);
  if (!seg.ok) return seg;
  if (!seg.done) return { ok: true, rows: seg.rows, head: seg.head, ...(seg.head ? { next: { after: seg.head.seq, prev: seg.head.hash } } : {}) };
  return verifyHotWindow(db, env, seg.head, seg.rows);
}
