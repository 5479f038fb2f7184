// Limits of the local Neon SQL-over-HTTP endpoint. The two size limits are Neon's (docs/neon-http.md): a larger request
// is answered 413, a larger response 507.
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** Connections per pool; one pool per distinct (user, password, database, startup parameters). */
export const POOL_MAX_CONNECTIONS = 10;
/** An idle pooled connection is closed after this long. */
export const POOL_IDLE_TIMEOUT_MS = 30_000;
/** Waiting for a pooled connection (or for a new one to authenticate) fails after this long. */
export const POOL_ACQUIRE_TIMEOUT_MS = 10_000;
