import type { Tool } from "@modelcontextprotocol/server";
import { Validator } from "@cfworker/json-schema";
import type { ToolDefinition } from "../policy/types";
import { sha256Hex } from "../lib/sha256";
import { RESULT_OUTPUT_SCHEMA } from "./result";

/**
 * What the request path derives from a tool definition, computed once per isolate and policy version: the MCP
 * listing entry, the input-schema validator and the SHA-256 of the tool's SQL. Keyed by the definition object,
 * which belongs to one cached policy snapshot (policy/store-d1.ts): when a new version replaces the snapshot, its
 * entries become unreachable and are collected with it, so the cache is bounded by the snapshots held.
 */
interface Compiled {
  listing?: Tool;
  validator?: Validator;
  sqlHash?: string;
}

const compiled = new WeakMap<ToolDefinition, Compiled>();

function entry(tool: ToolDefinition): Compiled {
  let e = compiled.get(tool);
  if (!e) {
    e = {};
    compiled.set(tool, e);
  }
  return e;
}

/** The MCP view of a tool: identity-bound parameters never appear; annotations follow the credential it uses. */
export function mcpToolOf(t: ToolDefinition): Tool {
  const e = entry(t);
  e.listing ??= {
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: t.inputSchema as Tool["inputSchema"],
    outputSchema: RESULT_OUTPUT_SCHEMA as unknown as Tool["outputSchema"],
    annotations: { title: t.title, ...t.annotations },
  };
  return e.listing;
}

/** The JSON Schema 2020-12 validator of the tool's arguments. */
export function validatorOf(t: ToolDefinition): Validator {
  const e = entry(t);
  e.validator ??= new Validator(t.inputSchema as never, "2020-12", false);
  return e.validator;
}

/** SHA-256 (hex) of the tool's own SQL, as audit rows record it. */
export async function sqlHashOf(t: ToolDefinition): Promise<string> {
  const e = entry(t);
  e.sqlHash ??= await sha256Hex(t.sql);
  return e.sqlHash;
}
