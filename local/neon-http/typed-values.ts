// Values for responses without Neon-Raw-Text-Output, converted as Neon does: bool → true/false, int2/int4 and
// finite float4/float8 → numbers, json/jsonb → the JSON itself, arrays of built-in types → JSON arrays (elements
// converted the same way); every other value (int8, numeric, dates, ...) stays a string. The driver always asks
// for raw text, so this only serves other HTTP clients. Arrays of user-defined types stay strings here.
import { HttpError } from "./errors";
import { ARRAY_ELEMENT_TYPES } from "./array-types";

const BOOL = 16;
const INT2 = 21;
const INT4 = 23;
const JSON_TYPE = 114;
const BOX = 603;
const FLOAT4 = 700;
const FLOAT8 = 701;
const JSONB = 3802;

/** One value in Postgres text format, as a JSON fragment. */
export function typedJson(text: string, dataTypeID: number): string {
  const element = ARRAY_ELEMENT_TYPES.get(dataTypeID);
  if (element !== undefined) return arrayJson(text, element);
  switch (dataTypeID) {
    case BOOL:
      return text === "t" ? "true" : "false";
    case INT2:
    case INT4:
      return String(Number.parseInt(text, 10));
    case FLOAT4:
    case FLOAT8: {
      const number = Number(text);
      return Number.isFinite(number) ? JSON.stringify(number) : JSON.stringify(text);
    }
    case JSON_TYPE:
    case JSONB:
      return text;
    default:
      return JSON.stringify(text);
  }
}

// Postgres array text: optional bounds decoration ("[1:2]="), braces per dimension, elements separated by the
// element type's delimiter (";" for box, else ","), double-quoted elements with backslash escapes, bare NULL.
function arrayJson(text: string, element: number): string {
  const delimiter = element === BOX ? ";" : ",";
  let at = 0;
  if (text.startsWith("[")) {
    at = text.indexOf("=") + 1;
    if (at === 0) throw malformed();
  }

  const skipSpace = (): void => {
    while (at < text.length && /\s/.test(text[at] ?? "")) at++;
  };

  const parseItem = (): string => {
    if (text[at] === "{") return parseArray();
    if (text[at] === '"') {
      at++;
      let value = "";
      for (;;) {
        const char = text[at++];
        if (char === undefined) throw malformed();
        if (char === '"') break;
        if (char === "\\") {
          const escaped = text[at++];
          if (escaped === undefined) throw malformed();
          value += escaped;
        } else {
          value += char;
        }
      }
      return typedJson(value, element);
    }
    const start = at;
    while (at < text.length && text[at] !== delimiter && text[at] !== "}") at++;
    const bare = text.slice(start, at).trim();
    return bare === "NULL" ? "null" : typedJson(bare, element);
  };

  const parseArray = (): string => {
    skipSpace();
    if (text[at] !== "{") throw malformed();
    at++;
    skipSpace();
    if (text[at] === "}") {
      at++;
      return "[]";
    }
    const items: string[] = [];
    for (;;) {
      skipSpace();
      items.push(parseItem());
      skipSpace();
      const next = text[at++];
      if (next === "}") return `[${items.join(",")}]`;
      if (next !== delimiter) throw malformed();
    }
  };

  const json = parseArray();
  skipSpace();
  if (at !== text.length) throw malformed();
  return json;
}

function malformed(): HttpError {
  return new HttpError(500, "could not parse postgres response");
}
