// The generated-volume rule (src/guard/sizes.ts): sizes come from literals, and their total per statement is held to
// MAX_GENERATED_VOLUME. The hostile and legitimate cases of the corpus cover the shapes; these pin the arithmetic.
import { describe, expect, it } from "vitest";
import { checkSelect } from "../../../src/guard/rules";
import { MAX_GENERATED_VOLUME } from "../../../src/guard/sizes";
import type { GuardResult } from "../../../src/guard/types";
import { nodeSqlParser } from "./wasm";

async function check(sql: string): Promise<GuardResult> {
  const parsed = (await nodeSqlParser()).parse(sql);
  if (!parsed.ok) throw new Error(parsed.message);
  return checkSelect(parsed.tree, { allowedRelations: ["sales.accounts"] });
}

const ok = { ok: true };
const tooMuch = { ok: false, rule: "generated_size" };

describe("generated volume", () => {
  it("admits exactly the ceiling and refuses one more, naming the rule and the limit", async () => {
    expect(await check(`SELECT repeat('x', ${MAX_GENERATED_VOLUME})`)).toMatchObject(ok);
    expect(await check(`SELECT repeat('xy', ${MAX_GENERATED_VOLUME / 2})`)).toMatchObject(ok);
    const over = await check(`SELECT repeat('x', ${MAX_GENERATED_VOLUME + 1})`);
    expect(over).toEqual({
      ok: false,
      rule: "generated_size",
      message: `generated_size: the statement would generate ${MAX_GENERATED_VOLUME + 1} characters or elements built, over the limit of ${MAX_GENERATED_VOLUME}`,
    });
  });

  it("counts characters, not bytes, of the repeated literal", async () => {
    expect(await check(`SELECT repeat('é', ${MAX_GENERATED_VOLUME})`)).toMatchObject(ok);
    expect(await check(`SELECT repeat('éé', ${MAX_GENERATED_VOLUME})`)).toMatchObject(tooMuch);
  });

  it("counts series rows as PostgreSQL does, including empty and descending series", async () => {
    expect(await check(`SELECT count(*) FROM generate_series(1, ${MAX_GENERATED_VOLUME})`)).toMatchObject(ok);
    expect(await check(`SELECT count(*) FROM generate_series(0, ${MAX_GENERATED_VOLUME})`)).toMatchObject(tooMuch);
    expect(await check(`SELECT count(*) FROM generate_series(${MAX_GENERATED_VOLUME * 10}, 1, -10)`)).toMatchObject(ok);
    expect(await check("SELECT count(*) FROM generate_series(10, 1)")).toMatchObject(ok);
    expect(await check("SELECT count(*) FROM generate_series(1, 10, 0)")).toMatchObject(tooMuch);
    expect(await check("SELECT count(*) FROM generate_series(0.5, 2000000, 2.5)")).toMatchObject(ok);
  });

  it("multiplies built values by series rows", async () => {
    expect(await check("SELECT lpad(g::text, 10, '0') FROM generate_series(1, 100000) AS g")).toMatchObject(ok);
    expect(await check("SELECT lpad(g::text, 11, '0') FROM generate_series(1, 100000) AS g")).toMatchObject(tooMuch);
  });

  it("counts timestamp series at the shortest length of their step", async () => {
    // 999,999 minutes after the start is the 1,000,000th row.
    expect(await check("SELECT count(*) FROM generate_series(timestamp '2026-01-01', timestamp '2027-11-26 10:39', interval '1 minute')")).toMatchObject(ok);
    expect(await check("SELECT count(*) FROM generate_series(timestamp '2026-01-01', timestamp '2027-11-26 10:40', interval '1 minute')")).toMatchObject(tooMuch);
    // A month counts as 28 days, a day as 23 hours (a DST change), whatever the dates.
    expect(await check("SELECT count(*) FROM generate_series(date '1000-01-01', date '9000-01-01', interval '1 month')")).toMatchObject(ok);
    expect(await check("SELECT count(*) FROM generate_series(date '2026-01-01', date '2026-01-03', '@ 1 day 2 hours'::interval)")).toMatchObject(ok);
    expect(await check("SELECT count(*) FROM generate_series(date '2026-01-01', date '2026-02-01', interval '1 month -3 days')")).toMatchObject(tooMuch);
    expect(await check("SELECT count(*) FROM generate_series(now(), now() + interval '1 day', interval '1 hour')")).toMatchObject(tooMuch);
  });

  it("reads lpad, format, array_fill and char(n) sizes from literals only", async () => {
    expect(await check("SELECT lpad(name, 5, '0') FROM sales.accounts")).toMatchObject(ok);
    expect(await check("SELECT lpad(name, id, '0') FROM sales.accounts")).toMatchObject(tooMuch);
    expect(await check("SELECT format('%s %%5s %-10s %3$s', 1, 2, 3)")).toMatchObject(ok);
    expect(await check("SELECT format('%*s', 10, 'x')")).toMatchObject(tooMuch);
    expect(await check("SELECT format(name, 1) FROM sales.accounts")).toMatchObject(tooMuch);
    expect(await check("SELECT array_fill(NULL::int, '{1000,1000}')")).toMatchObject(ok);
    expect(await check("SELECT array_fill(7, '{1000,1001}'::int[])")).toMatchObject(tooMuch);
    expect(await check("SELECT ''::character(1000000), ''::varchar(100000000)")).toMatchObject(ok);
    expect(await check("SELECT ''::bit(1000001)")).toMatchObject(tooMuch);
  });

  it("refuses named arguments, which could move a size out of its position", async () => {
    expect(await check('SELECT repeat("string" => \'x\', "number" => 3)')).toMatchObject(tooMuch);
  });
});
