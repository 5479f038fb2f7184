import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { devToken } from "../support/mcp-client";

const e2e = inject("e2e");
const run = promisify(execFile);
const INSPECTOR = fileURLToPath(new URL("../../node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js", import.meta.url));

/** The MCP Inspector CLI, a client we did not write, against the dev stack. */
async function inspector(args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, [INSPECTOR, "--cli", e2e.mcpUrl, ...args], { timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
  return JSON.parse(stdout);
}

describe("MCP Inspector CLI", () => {
  it("lists Alice's tools and calls one with an argument", async () => {
    const token = await devToken(e2e, { user: "alice@example.com" });
    const header = ["--header", `Authorization: Bearer ${token}`];
    const list = (await inspector([...header, "--method", "tools/list"])) as { tools: Array<{ name: string }> };
    expect(list.tools.map((t) => t.name).sort()).toEqual(["pipeline_coverage", "revenue_summary"]);
    const call = (await inspector([...header, "--method", "tools/call", "--tool-name", "pipeline_coverage", "--tool-arg", "quarter=2026-Q2"])) as {
      structuredContent: { row_count: number; rows: unknown[][] };
    };
    expect(call.structuredContent.row_count).toBe(8);
    expect(call.structuredContent.rows.every((r) => r[1] === "2026-Q2")).toBe(true);
  });

  it("fails without a token", async () => {
    await expect(inspector(["--method", "tools/list"])).rejects.toThrow();
  });
});
