// The `Neon-Connection-String` header (docs/neon-http.md): `postgres://` or `postgresql://`, a user and a password, a host
// that is a domain name (Neon routes by hostname; an IP literal is refused), the first path segment as the
// database, and query-string pairs as startup parameters. Host and port are only validated: the endpoint always
// connects to its own Postgres, as Neon's proxy maps the hostname to a compute.
import { isIP } from "node:net";
import { HttpError } from "./errors";

export interface ConnectionTarget {
  user: string;
  password: string;
  database: string;
  applicationName?: string;
  /** The startup `options` string: the caller's own `options` plus `-c name=value` for every other parameter. */
  options?: string;
}

// libpq connection keywords that configure the client side of a connection rather than the server session
// (TLS, timeouts, routing, ...). Neon connection strings carry some of them (`sslmode=require`); they mean nothing
// on this hop and are dropped. `client_encoding` is dropped too: the HTTP API is JSON, always UTF-8.
const CLIENT_SIDE_KEYWORDS = new Set([
  "host",
  "hostaddr",
  "port",
  "dbname",
  "user",
  "password",
  "passfile",
  "service",
  "connect_timeout",
  "client_encoding",
  "fallback_application_name",
  "keepalives",
  "keepalives_idle",
  "keepalives_interval",
  "keepalives_count",
  "tcp_user_timeout",
  "replication",
  "gssencmode",
  "gsslib",
  "gssdelegation",
  "krbsrvname",
  "sslmode",
  "sslnegotiation",
  "sslcompression",
  "sslcert",
  "sslkey",
  "sslkeylogfile",
  "sslpassword",
  "sslcertmode",
  "sslrootcert",
  "sslcrl",
  "sslcrldir",
  "sslsni",
  "ssl_min_protocol_version",
  "ssl_max_protocol_version",
  "channel_binding",
  "requirepeer",
  "require_auth",
  "min_protocol_version",
  "max_protocol_version",
  "target_session_attrs",
  "load_balance_hosts",
  "oauth_issuer",
  "oauth_client_id",
  "oauth_client_secret",
  "oauth_scope",
]);

const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

export function parseConnectionString(header: string | undefined): ConnectionTarget {
  if (header === undefined || header === "") throw badRequest("missing header: neon-connection-string");
  let url: URL;
  try {
    url = new URL(header);
  } catch {
    throw badRequest("invalid connection string");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw badRequest("incorrect scheme");

  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw badRequest("missing hostname");
  if (isIP(host) !== 0) throw badRequest("invalid hostname: an IP address is not accepted, use a domain name");

  const user = decode(url.username, "username");
  if (user === "") throw badRequest("missing username");
  const password = decode(url.password, "password");
  if (password === "") throw badRequest("missing authentication credentials: required password");
  const database = decode(url.pathname.split("/")[1] ?? "", "database name");
  if (database === "") throw badRequest("missing database name");

  const target: ConnectionTarget = { user, password, database };
  const settings: string[] = [];
  for (const [name, value] of url.searchParams) {
    if (name === "application_name") target.applicationName = value;
    else if (name === "options") settings.unshift(value);
    else if (CLIENT_SIDE_KEYWORDS.has(name)) continue;
    else if (!PARAMETER_NAME.test(name)) throw badRequest(`invalid startup parameter name: ${name}`);
    else settings.push(`-c ${name}=${escapeOptionValue(value)}`);
  }
  if (settings.length > 0) target.options = settings.join(" ");
  return target;
}

/** A stable identity for pooling: connections are shared only between requests with all of these equal. */
export function poolKey(target: ConnectionTarget): string {
  return JSON.stringify([target.user, target.password, target.database, target.applicationName, target.options]);
}

function decode(value: string, what: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw badRequest(`invalid ${what}`);
  }
}

// In the startup `options` string, whitespace separates arguments and a backslash escapes the next character.
function escapeOptionValue(value: string): string {
  return value.replace(/[\\\s]/g, (char) => `\\${char}`);
}

function badRequest(message: string): HttpError {
  return new HttpError(400, message);
}
