// Single statements through the real @neondatabase/serverless driver and as raw HTTP (docs/neon-http.md): parameters,
// result shape, array mode, raw and typed output, command tags, extended-protocol-only, Postgres errors.
import { neon, NeonDbError } from "@neondatabase/serverless";
import { beforeAll, describe, expect, it } from "vitest";
import { connectionString, ERROR_KEYS, post, uniqueName } from "./neon-http-helpers";

const sql = neon(connectionString());
const RAW = { "Neon-Raw-Text-Output": "true", "Neon-Array-Mode": "true" };

describe("parameters", () => {
  it("round-trip null, text, numbers, booleans, JSON, arrays, dates and bytes through the driver", async () => {
    const text = `it's "quoted" \\ back\\slash, ünïcødé 🐘`;
    const when = new Date("2024-02-29T12:34:56.789Z");
    const [row] = await sql`
      SELECT ${null}::text AS nothing, ${text}::text AS text, ${42}::int AS int, ${-1.25}::float8 AS float,
             ${"9007199254740993"}::int8 AS big, ${true}::bool AS yes, ${false}::bool AS no,
             ${{ a: 1, nested: { b: [true, null] } }}::jsonb AS doc,
             ${["a", 'q"uote', null, "NULL", "x,y", "{brace}"]}::text[] AS texts,
             ${[[1, 2], [3, 4]]}::int[] AS grid, ${when}::timestamptz AS at, ${Buffer.from([0, 1, 254, 255])}::bytea AS bytes`;
    expect(row).toEqual({
      nothing: null,
      text,
      int: 42,
      float: -1.25,
      big: "9007199254740993",
      yes: true,
      no: false,
      doc: { a: 1, nested: { b: [true, null] } },
      texts: ["a", 'q"uote', null, "NULL", "x,y", "{brace}"],
      grid: [
        [1, 2],
        [3, 4],
      ],
      at: when,
      bytes: Buffer.from([0, 1, 254, 255]),
    });
  });

  it("convert JSON values sent by other clients to text: numbers, booleans, objects, array literals", async () => {
    const response = await post(
      {
        query: "SELECT $1::int + 1, $2::bool, $3::jsonb ->> 'k', $4::text[], $5::int[], $6::text, $7::float8, $8::jsonb[]",
        params: [
          41,
          true,
          { k: "v" },
          ['a"b', null, "NULL", "x,y", "back\\slash"],
          [
            [1, 2],
            [null, 4],
          ],
          null,
          1.5e300,
          [{ a: 1 }],
        ],
      },
      RAW,
    );
    expect(response.status).toBe(200);
    expect(response.json.rows).toEqual([["42", "t", "v", '{"a\\"b",NULL,"NULL","x,y","back\\\\slash"}', "{{1,2},{NULL,4}}", null, "1.5e+300", '{"{\\"a\\": 1}"}']]);
  });

  it("reject a parameter count that does not match the statement (a Postgres error, 400)", async () => {
    const response = await post({ query: "SELECT $1::int, $2::int", params: [1] }, RAW);
    expect(response.status).toBe(400);
    expect(response.json.code).toBe("08P01");
  });
});

describe("results", () => {
  let table: string;
  beforeAll(async () => {
    table = uniqueName("results");
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, label varchar(20), price numeric(10,2))`);
  });

  it("have Neon's shape: fields with type metadata, text format, command, rowCount, rowAsArray", async () => {
    await sql.query(`INSERT INTO ${table} VALUES (1, 'one', 1.50), (2, 'two', 2)`);
    const result = await sql.query(`SELECT id, label, price FROM ${table} ORDER BY id`, [], { fullResults: true });
    expect(result.command).toBe("SELECT");
    expect(result.rowCount).toBe(2);
    expect(result.rows).toEqual([
      { id: 1, label: "one", price: "1.50" },
      { id: 2, label: "two", price: "2.00" },
    ]);
    const [id, label, price] = result.fields;
    expect(id).toEqual({ name: "id", dataTypeID: 23, tableID: expect.any(Number), columnID: 1, dataTypeSize: 4, dataTypeModifier: -1, format: "text" });
    expect(id!.tableID).toBeGreaterThan(0);
    expect(label).toMatchObject({ name: "label", dataTypeID: 1043, columnID: 2, dataTypeSize: -1, dataTypeModifier: 24 });
    expect(price).toMatchObject({ name: "price", dataTypeID: 1700, columnID: 3, dataTypeModifier: (10 << 16) + 2 + 4 });
  });

  it("are raw text on the wire when Neon-Raw-Text-Output is true: every value a string or null", async () => {
    const response = await post({ query: `SELECT 1::int AS i, true AS b, NULL::int AS n, 1.5::float8 AS f, '{"x": 1}'::jsonb AS j, ARRAY[1,2] AS a` }, RAW);
    expect(response.status).toBe(200);
    expect(response.json.rows).toEqual([["1", "t", null, "1.5", '{"x": 1}', "{1,2}"]]);
    expect(response.json.rowAsArray).toBe(true);
  });

  it("are converted to JSON values without Neon-Raw-Text-Output, as Neon does", async () => {
    const response = await post({
      query: `SELECT true AS b, 7::int2 AS s, 8::int4 AS i, 9::int8 AS big, 2.5::numeric AS num, 0.5::float4 AS f4,
                     'NaN'::float8 AS nan, '{"k": [1, null]}'::jsonb AS j, '[1, 2]'::json AS js,
                     '{{1,2},{3,NULL}}'::int[] AS grid, ARRAY['a"b', NULL, 'NULL', 'x,y'] AS texts,
                     ARRAY[true, false] AS flags, '[1:2]={5,6}'::int[] AS bounded, '{}'::int[] AS empty,
                     ARRAY['(1,1),(0,0)'::box] AS boxes, '2024-01-02'::date AS d`,
    });
    expect(response.status).toBe(200);
    expect(response.json.rowAsArray).toBe(false);
    expect(response.json.rows).toEqual([
      {
        b: true,
        s: 7,
        i: 8,
        big: "9",
        num: "2.5",
        f4: 0.5,
        nan: "NaN",
        j: { k: [1, null] },
        js: [1, 2],
        grid: [
          [1, 2],
          [3, null],
        ],
        texts: ['a"b', null, "NULL", "x,y"],
        flags: [true, false],
        bounded: [5, 6],
        empty: [],
        boxes: ["(1,1),(0,0)"],
        d: "2024-01-02",
      },
    ]);
  });

  it("keep column order and repeated names in object rows", async () => {
    const response = await post({ query: `SELECT 1 AS b, 2 AS "1", 3 AS b` }, { "Neon-Raw-Text-Output": "true" });
    expect(response.text).toContain(`"rows":[{"b":"1","1":"2","b":"3"}]`);
  });

  it("report command and rowCount from the command tag", async () => {
    const name = uniqueName("tags");
    const create = await sql.query(`CREATE TABLE ${name} (n int)`, [], { fullResults: true });
    expect([create.command, create.rowCount]).toEqual(["CREATE", null]);
    const insert = await sql.query(`INSERT INTO ${name} SELECT generate_series(1, 3)`, [], { fullResults: true });
    expect([insert.command, insert.rowCount, insert.fields]).toEqual(["INSERT", 3, []]);
    const update = await sql.query(`UPDATE ${name} SET n = n + 1 WHERE n > 1`, [], { fullResults: true });
    expect([update.command, update.rowCount]).toEqual(["UPDATE", 2]);
    const empty = await sql.query(`SELECT n FROM ${name} WHERE false`, [], { fullResults: true });
    expect([empty.command, empty.rowCount, empty.rows, empty.fields.map((f) => f.name)]).toEqual(["SELECT", 0, [], ["n"]]);
  });
});

describe("array mode", () => {
  it("returns rows as arrays when the driver asks for it (per client or per query)", async () => {
    const arrays = neon(connectionString(), { arrayMode: true });
    expect(await arrays`SELECT 1 AS a, 'x' AS b`).toEqual([[1, "x"]]);
    expect(await sql.query("SELECT 1 AS a, 'x' AS b", [], { arrayMode: true })).toEqual([[1, "x"]]);
    expect(await sql.query("SELECT 1 AS a, 'x' AS b")).toEqual([{ a: 1, b: "x" }]);
  });

  it("follows the header, overridden by the body's arrayMode, and only an exact `true` turns it on", async () => {
    const query = "SELECT 1 AS a";
    expect((await post({ query }, { "Neon-Array-Mode": "true" })).json.rows).toEqual([[1]]);
    expect((await post({ query })).json.rows).toEqual([{ a: 1 }]);
    expect((await post({ query }, { "Neon-Array-Mode": "TRUE" })).json.rows).toEqual([{ a: 1 }]);
    expect((await post({ query }, { "Neon-Array-Mode": "1" })).json.rowAsArray).toBe(false);
    expect((await post({ query, arrayMode: true })).json.rows).toEqual([[1]]);
    expect((await post({ query, arrayMode: false }, { "Neon-Array-Mode": "true" })).json.rows).toEqual([{ a: 1 }]);
  });
});

describe("extended protocol", () => {
  it("refuses two statements in one query string with 42601", async () => {
    const error = await sql.query("SELECT 1; SELECT 2").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect((error as NeonDbError).code).toBe("42601");
    expect((error as NeonDbError).message).toMatch(/multiple commands/);
  });

  it("takes no $n in utility statements (set_config is the way)", async () => {
    const error = await sql.query("SET statement_timeout = $1", ["1s"]).catch((e: unknown) => e);
    expect((error as NeonDbError).code).toBe("42601");
    expect(await sql.query("SELECT set_config('statement_timeout', $1, true) AS v", ["1s"])).toEqual([{ v: "1s" }]);
  });
});

describe("Postgres errors", () => {
  it("are a 400 carrying every Neon error key, absent ones null", async () => {
    const response = await post({ query: "SELECT * FROM no_such_table" }, RAW);
    expect(response.status).toBe(400);
    expect(Object.keys(response.json).sort()).toEqual(ERROR_KEYS);
    expect(response.json).toMatchObject({
      message: 'relation "no_such_table" does not exist',
      code: "42P01",
      position: "15",
      severity: "ERROR",
      detail: null,
      hint: null,
      internalPosition: null,
      internalQuery: null,
      where: null,
      table: null,
      column: null,
      schema: null,
      dataType: null,
      constraint: null,
      routine: expect.any(String),
      file: expect.any(String),
      line: expect.stringMatching(/^\d+$/),
    });
  });

  it("carry detail, schema, table and constraint for a constraint violation", async () => {
    const table = uniqueName("uniq");
    await sql.query(`CREATE TABLE ${table} (id int CONSTRAINT ${table}_pk PRIMARY KEY)`);
    const response = await post({ query: `INSERT INTO ${table} VALUES (1), (1)` }, RAW);
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({
      code: "23505",
      detail: "Key (id)=(1) already exists.",
      schema: "public",
      table,
      constraint: `${table}_pk`,
    });
  });

  it("carry internalPosition, internalQuery and where for an error in a statement PL/pgSQL runs", async () => {
    const response = await post({ query: "DO $$ BEGIN EXECUTE 'SELECT 1 +'; END $$" }, RAW);
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({
      code: "42601",
      position: null,
      internalPosition: "11",
      internalQuery: "SELECT 1 +",
      where: "PL/pgSQL function inline_code_block line 1 at EXECUTE",
    });
  });

  it("become NeonDbError in the driver with the SQLSTATE mapped", async () => {
    for (const [query, code] of [
      ["SELECT 1 / 0", "22012"],
      ["SELECT * FROM no_such_table", "42P01"],
      ["SELECT 'x'::int", "22P02"],
    ] as const) {
      const error = await sql.query(query).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NeonDbError);
      expect((error as NeonDbError).code).toBe(code);
      expect((error as NeonDbError).severity).toBe("ERROR");
    }
  });
});
