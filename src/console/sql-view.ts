/** A piece of a statement as the console shows it: literal text, or a placeholder with the value bound to it. */
export type SqlSegment = { text: string } | { placeholder: string; name: string | null; value: unknown; bound: boolean };

/**
 * Splits a write tool's SQL at its `$n` placeholders and puts beside each the value that will be bound to it:
 * the tool binds `bind[n-1]` (an argument or identity-bound name) to `$n`. `bind` is null when the tool changed
 * since the request (then the request cannot run, and no mapping is claimed). A `$n` inside a string literal or
 * comment is shown as a placeholder too: the view errs on the side of showing a value.
 */
export function sqlSegments(sql: string, bind: readonly string[] | null, args: Record<string, unknown>): SqlSegment[] {
  const out: SqlSegment[] = [];
  const re = /\$(\d{1,3})/g;
  let last = 0;
  for (let m = re.exec(sql); m !== null; m = re.exec(sql)) {
    if (m.index > last) out.push({ text: sql.slice(last, m.index) });
    const name = bind ? (bind[Number(m[1]) - 1] ?? null) : null;
    const bound = name !== null && Object.hasOwn(args, name);
    out.push({ placeholder: m[0], name, value: bound ? args[name] : undefined, bound });
    last = m.index + m[0].length;
  }
  if (last < sql.length) out.push({ text: sql.slice(last) });
  return out;
}

/** A bound value as SQL would read it: strings quoted, null as NULL, everything else as JSON. */
export function showValue(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "string") return `'${v.replace(/'/g, "''")}'`;
  return JSON.stringify(v);
}
