import { describe, expect, it } from "vitest";
import { writeStatementProblem } from "../../../src/guard/write-shape";
import { nodeSqlParser } from "./wasm";

const problem = async (sql: string) => writeStatementProblem((await nodeSqlParser()).parse(sql));

describe("write tool statement shape", () => {
  it.each([
    "UPDATE sales.opportunities SET stage = $2 WHERE id = $1 RETURNING id, stage",
    "INSERT INTO sales.notes (body) VALUES ($1) RETURNING id",
    "DELETE FROM sales.notes WHERE id = $1 RETURNING id",
  ])("accepts %s", async (sql) => expect(await problem(sql)).toBeUndefined());

  it.each([
    [
      "a statement that closes the counting CTE and opens another",
      "UPDATE sales.opportunities SET stage = $2 WHERE id = $1 RETURNING id), extra AS (UPDATE sales.opportunities SET stage = 'closed_lost' WHERE id > 0 RETURNING id",
      /does not parse/,
    ],
    ["no RETURNING", "UPDATE sales.opportunities SET stage = $2 WHERE id = $1", /RETURNING/],
    ["a WITH clause of its own", "WITH x AS (DELETE FROM sales.notes RETURNING id) UPDATE sales.opportunities SET stage = 'a' WHERE id = 1 RETURNING id", /WITH/],
    ["two statements", "UPDATE sales.opportunities SET stage = 'a' RETURNING id; DELETE FROM sales.notes RETURNING id", /exactly one/],
    ["a SELECT", "SELECT 1", /INSERT, UPDATE, DELETE or MERGE/],
  ])("refuses %s", async (_name, sql, message) => expect(await problem(sql)).toMatch(message));
});
