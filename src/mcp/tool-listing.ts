// The MCP listing entry of a tool is compiled once per policy version (tools/catalog.ts).
export { mcpToolOf as toMcpTool } from "../tools/catalog";
