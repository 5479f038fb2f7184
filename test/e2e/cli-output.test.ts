import { describe, expect, inject, it } from "vitest";
import { connectClient, devToken } from "../support/mcp-client";
import { gatehouseCli } from "../support/gatehouse-cli";
import { jwtPayload } from "../support/d1";

const e2e = inject("e2e");

describe("CLI output", () => {
  it("`audit tail` shows a caller-chosen tool name with its escape sequences escaped, never raw", async () => {
    const token = await devToken(e2e, { user: "wes@example.com" });
    const jti = String(jwtPayload(token).jti);
    const name = "\u001b[31mred\u001b]8;;https://evil.example/\u0007link\u001b]8;;\u0007\u009b2J\u202eexe";
    const client = await connectClient(e2e.mcpUrl, token);
    await expect(client.callTool({ name, arguments: {} })).rejects.toThrow();
    await client.close();

    // The refusal is recorded after the response (waitUntil): poll the CLI briefly.
    let tail = { code: -1, stdout: "", stderr: "" };
    for (let i = 0; i < 10 && !tail.stdout.includes("not_granted"); i++) tail = await gatehouseCli(e2e, "audit", "tail", "--filter", `jti=${jti}`, "--dev");
    expect(tail.code).toBe(0);
    expect(tail.stdout).toContain("not_granted");
    expect(tail.stdout).toContain("\\u001b[31mred\\u001b]8;;https://evil.example/\\u0007link\\u001b]8;;\\u0007\\u009b2J\\u202eexe");
    expect(tail.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});
