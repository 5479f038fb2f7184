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
/**
 * How long an idle keep-alive connection is kept. Longer than a client keeps its own idle connections: when the
 * server closes first, a client that sends its next request on the closing socket gets a reset (Node's default of
 * 5 s lost about 1 call in 250 at concurrency 64 under load, seen as "could not be reached" in the resilience suite).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
