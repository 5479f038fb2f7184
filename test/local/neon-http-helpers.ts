// Shared by the neon-http tests: the fixture from global-setup, connection strings for the real driver (which
// is pointed at the local endpoint, a global setting as in the Worker), raw HTTP requests, a superuser client.
import { randomBytes } from "node:crypto";
import { neon, neonConfig } from "@neondatabase/serverless";
import pg from "pg";
import { inject } from "vitest";

export const fixture = inject("neonHttp");
neonConfig.fetchEndpoint = fixture.endpointUrl;

export interface ConnectionOptions {
  user?: string;
  password?: string;
  host?: string;
  database?: string;
  /** Query string without "?"; a unique application_name here gives the test its own connection pool. */
  query?: string;
}

export function connectionString(opts: ConnectionOptions = {}): string {
  const user = encodeURIComponent(opts.user ?? fixture.user);
  const password = encodeURIComponent(opts.password ?? fixture.password);
  const query = opts.query ? `?${opts.query}` : "";
  return `postgresql://${user}:${password}@${opts.host ?? "localhost"}/${opts.database ?? fixture.database}${query}`;
}

/** A driver bound to a pool of its own (a fresh application_name), so pooling effects are deterministic. */
export function isolatedSql(label: string) {
  return neon(connectionString({ query: `application_name=${uniqueName(label)}` }));
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString("hex")}`;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** POSTs to the endpoint as a non-driver client would; headers default to a valid connection string. */
export async function post(body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return request("POST", typeof body === "string" ? body : JSON.stringify(body), {
    "Neon-Connection-String": connectionString(),
    ...headers,
  });
}

export async function request(method: string, body: string | undefined, headers: Record<string, string>, url = fixture.endpointUrl): Promise<RawResponse> {
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export async function withSuperuser<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: fixture.superuserUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Polls until `check` holds or the deadline passes; returns the last result. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const ERROR_KEYS = [
  "message",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "severity",
  "where",
  "table",
  "column",
  "schema",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
].sort();
