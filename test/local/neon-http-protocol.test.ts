// The HTTP surface of the local endpoint (docs/neon-http.md): routes and CORS, the connection-string header, the body,
// authentication failures, and the 10 MiB request (413) and response (507) limits.
import { neon, NeonDbError } from "@neondatabase/serverless";
import { describe, expect, it } from "vitest";
import { connectionString, ERROR_KEYS, fixture, isolatedSql, post, request } from "./neon-http-helpers";

const MiB = 1024 * 1024;
const sql = neon(connectionString());

describe("routes", () => {
  it("answers anything but POST /sql with 400 `query is not supported` in Neon's error shape", async () => {
    const base = fixture.endpointUrl.replace(/\/sql$/, "");
    for (const [method, url] of [
      ["GET", `${base}/sql`],
      ["PUT", `${base}/sql`],
      ["POST", `${base}/other`],
      ["GET", `${base}/`],
    ] as const) {
      const response = await request(method, undefined, { "Neon-Connection-String": connectionString() }, url);
      expect(response.status, `${method} ${url}`).toBe(400);
      expect(response.json).toMatchObject({ message: "query is not supported", code: "" });
      expect(Object.keys(response.json).sort()).toEqual(ERROR_KEYS);
    }
  });

  it("answers the CORS preflight with 200 and allows the headers the driver sends", async () => {
    const response = await request("OPTIONS", undefined, {
      Origin: "https://app.example",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "neon-connection-string, neon-raw-text-output, neon-array-mode",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/);
    for (const header of ["neon-connection-string", "neon-raw-text-output", "neon-array-mode", "neon-batch-isolation-level", "neon-batch-read-only", "neon-batch-deferrable", "authorization"]) {
      expect(allowed).toContain(header);
    }
  });

  it("accepts the text/plain body the driver sends and allows any origin on answers", async () => {
    const response = await post({ query: "SELECT 1 AS one" }, { "Content-Type": "text/plain;charset=UTF-8" });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("content-type")).toBe("application/json");
  });
});

describe("the connection string", () => {
  it("is required", async () => {
    const response = await request("POST", JSON.stringify({ query: "SELECT 1" }), {});
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ code: "", message: expect.stringMatching(/neon-connection-string/i) });
  });

  it("must name a host by domain, not by IP literal", async () => {
    for (const host of ["127.0.0.1", "[::1]"]) {
      const error = await neon(connectionString({ host }))`SELECT 1`.catch((e: unknown) => e);
      expect(error, host).toBeInstanceOf(NeonDbError);
      expect((error as NeonDbError).message).toMatch(/IP address/);
      expect((error as NeonDbError).code).toBe("");
    }
  });

  it("is refused when its scheme, user, password or database is missing or wrong", async () => {
    for (const value of [
      "mysql://u:p@localhost/db",
      "not a url",
      `postgresql://localhost/${fixture.database}`,
      `postgresql://${fixture.user}@localhost/${fixture.database}`,
      `postgresql://${fixture.user}:pw@localhost`,
      `postgresql://${fixture.user}:pw@localhost/`,
    ]) {
      const response = await request("POST", JSON.stringify({ query: "SELECT 1" }), { "Neon-Connection-String": value });
      expect(response.status, value).toBe(400);
      expect(response.json.code, value).toBe("");
    }
  });

  it("selects the endpoint's own Postgres whatever host and port it names", async () => {
    const elsewhere = neon(connectionString({ host: "ep-example-123456.us-east-2.aws.neon.tech:6543" }));
    expect(await elsewhere`SELECT current_database() AS db, current_user AS usr`).toEqual([{ db: fixture.database, usr: fixture.user }]);
  });

  it("turns query-string pairs into startup parameters and drops client-side ones like sslmode", async () => {
    const tuned = neon(
      connectionString({
        query: "sslmode=require&channel_binding=require&statement_timeout=1234&search_path=public,%20pg_temp&options=-c%20lock_timeout%3D2s&application_name=tuned-app",
      }),
    );
    expect(
      await tuned`SELECT current_setting('statement_timeout') AS st, current_setting('search_path') AS sp,
                         current_setting('lock_timeout') AS lt, current_setting('application_name') AS app`,
    ).toEqual([{ st: "1234ms", sp: "public, pg_temp", lt: "2s", app: "tuned-app" }]);
  });

  it("carries the driver's own application_name when none is given", async () => {
    expect(await sql`SELECT current_setting('application_name') AS app`).toEqual([{ app: expect.stringMatching(/^pkg:npm\/%40neondatabase\/serverless@\d/) }]);
  });

  it("reports an unknown startup parameter as Postgres does (42704), and refuses a malformed name", async () => {
    const unknown = await neon(connectionString({ query: "no_such_setting=1" }))`SELECT 1`.catch((e: unknown) => e);
    expect((unknown as NeonDbError).code).toBe("42704");
    const response = await post({ query: "SELECT 1" }, { "Neon-Connection-String": connectionString({ query: "a%20-c%20x=1" }) });
    expect(response.status).toBe(400);
    expect(response.json.message).toMatch(/startup parameter/);
  });
});

describe("authentication", () => {
  it("fails with 28P01 for a wrong password", async () => {
    const error = await neon(connectionString({ password: "wrong" }))`SELECT 1`.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect((error as NeonDbError).code).toBe("28P01");
    expect((error as NeonDbError).message).toMatch(/password authentication failed/);
  });

  it("fails with 3D000 for a database that does not exist", async () => {
    const error = await neon(connectionString({ database: "no_such_database" }))`SELECT 1`.catch((e: unknown) => e);
    expect((error as NeonDbError).code).toBe("3D000");
  });
});

describe("the body", () => {
  it("must be JSON with a query string or a queries array", async () => {
    for (const body of ["not json", "{}", JSON.stringify({ query: 1 }), JSON.stringify({ query: "SELECT 1", params: "x" }), JSON.stringify({ queries: [{}] })]) {
      const response = await post(body);
      expect(response.status, body).toBe(400);
      expect(response.json.message, body).toMatch(/could not parse the HTTP request body/);
    }
  });

  it("is refused with 413 over 10 MiB and accepted just under it", async () => {
    const fits = await sql.query("SELECT length($1::text) AS n", ["x".repeat(9 * MiB)]);
    expect(fits).toEqual([{ n: 9 * MiB }]);
    const error = await sql.query("SELECT length($1::text) AS n", ["x".repeat(10 * MiB)]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/HTTP status 413/);
    expect((error as NeonDbError).code).toBeUndefined();
  });
});

describe("the response", () => {
  it("is refused with 507 over 10 MiB, for one large value", async () => {
    const error = await sql`SELECT repeat('x', 11 * 1024 * 1024) AS big`.catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/HTTP status 507/);
    expect((error as Error).message).toMatch(/response is too large/);
  });

  it("is refused with 507 while many rows stream in, and the connection is replaced", async () => {
    const own = isolatedSql("big_rows");
    const [before] = await own`SELECT pg_backend_pid() AS pid`;
    const error = await own`SELECT repeat('x', 1024 * 1024) FROM generate_series(1, 64)`.catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/HTTP status 507/);
    const [after] = await own`SELECT pg_backend_pid() AS pid`;
    expect(after!.pid).not.toBe(before!.pid);
  });

  it("counts every statement of a batch against the limit", async () => {
    const error = await sql.transaction([sql`SELECT repeat('x', 6 * 1024 * 1024) AS a`, sql`SELECT repeat('y', 6 * 1024 * 1024) AS b`]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/HTTP status 507/);
  });

  it("fits just under 10 MiB", async () => {
    const [row] = await sql`SELECT length(repeat('x', 9 * 1024 * 1024)) AS n, repeat('x', 9 * 1024 * 1024) AS big`;
    expect(row!.n).toBe(9 * MiB);
  });
});
