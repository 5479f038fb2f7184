/**
 * Converts Postgres text-format values (as the Neon HTTP endpoint sends them) into JSON values a model can use.
 * Exact numbers that JSON cannot carry faithfully (int8, numeric) stay strings; json/jsonb become JSON.
 */
const TYPE_NAMES: Record<number, string> = {
  16: "boolean",
  19: "name",
  20: "bigint",
  21: "smallint",
  23: "integer",
  25: "text",
  26: "oid",
  114: "json",
  700: "real",
  701: "double precision",
  1042: "character",
  1043: "varchar",
  1082: "date",
  1083: "time",
  1114: "timestamp",
  1184: "timestamptz",
  1186: "interval",
  1700: "numeric",
  2950: "uuid",
  3802: "jsonb",
};

export function typeName(oid: number): string {
  return TYPE_NAMES[oid] ?? (oid > 0 ? `oid ${oid}` : "unknown");
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export function convertValue(oid: number, text: string | null): JsonValue {
  if (text === null) return null;
  switch (oid) {
    case 16:
      return text === "t";
    case 21:
    case 23:
      return Number(text);
    case 700:
    case 701: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case 114:
    case 3802:
      try {
        return JSON.parse(text) as JsonValue;
      } catch {
        return text;
      }
    default:
      return text;
  }
}
