// The request body (docs/neon-http.md): `{"query", "params"?, "arrayMode"?}` for one statement or `{"queries": [...]}` for
// a batch run as one transaction. The driver sends it as text/plain, so the content type is not checked.
import { HttpError } from "./errors";
import type { PgParam } from "./params";
import { toPgParams } from "./params";

export interface QueryData {
  query: string;
  params: PgParam[];
  /** Overrides the Neon-Array-Mode header for this statement. */
  arrayMode?: boolean;
}

export type Payload = { kind: "single"; query: QueryData } | { kind: "batch"; queries: QueryData[] };

export function parsePayload(body: string): Payload {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw invalid((error as Error).message);
  }
  if (isObject(json) && "query" in json) return { kind: "single", query: queryData(json) };
  if (isObject(json) && Array.isArray(json.queries)) {
    return { kind: "batch", queries: json.queries.map((item: unknown) => queryData(item)) };
  }
  throw invalid('expected {"query": ...} or {"queries": [...]}');
}

function queryData(value: unknown): QueryData {
  if (!isObject(value) || typeof value.query !== "string") throw invalid('"query" must be a string');
  const { params, arrayMode } = value;
  if (params !== undefined && !Array.isArray(params)) throw invalid('"params" must be an array');
  if (arrayMode !== undefined && arrayMode !== null && typeof arrayMode !== "boolean") {
    throw invalid('"arrayMode" must be a boolean');
  }
  const data: QueryData = { query: value.query, params: toPgParams(params ?? []) };
  if (typeof arrayMode === "boolean") data.arrayMode = arrayMode;
  return data;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(reason: string): HttpError {
  return new HttpError(400, `could not parse the HTTP request body: ${reason}`);
}
