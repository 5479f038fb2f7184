/** The audit store refused a row: whatever it was to record must not happen (fail closed, docs/security.md step 4). */
export class AuditUnavailable extends Error {
  readonly code = "ERR_AUDIT_UNAVAILABLE";
}
