import type { Tool } from "@modelcontextprotocol/server";
import type { ToolDefinition } from "../policy/types";
import { RESULT_OUTPUT_SCHEMA } from "../tools/result";

/** The MCP view of a tool: identity-bound parameters never appear; annotations follow the credential it uses. */
export function toMcpTool(t: ToolDefinition): Tool {
  return {
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: t.inputSchema as Tool["inputSchema"],
    outputSchema: RESULT_OUTPUT_SCHEMA as unknown as Tool["outputSchema"],
    annotations: { title: t.title, ...t.annotations },
  };
}
