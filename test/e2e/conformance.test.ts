import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startAuthProxy, type AuthProxy } from "../support/auth-proxy";
import { devToken } from "../support/mcp-client";

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, pinned) against the dev stack, for the
 * scenarios that apply to a gateway, in both eras. The suite sends no token, so a test-only proxy adds one
 * (test/support/auth-proxy.ts). Checks that cannot apply are listed, with a reason each, in
 * test/e2e/conformance/baseline.yaml; the suite fails on any other failure and on a baseline entry that passes.
 */
const e2e = inject("e2e");
const CLI = fileURLToPath(new URL("../../node_modules/@modelcontextprotocol/conformance/dist/index.js", import.meta.url));
const BASELINE = fileURLToPath(new URL("./conformance/baseline.yaml", import.meta.url));
const SCENARIOS = ["server-stateless", "http-header-validation", "http-custom-header-server-validation", "caching", "dns-rebinding-protection", "tools-list", "server-initialize", "ping"];

let proxy: AuthProxy;
const summary: string[] = [];

beforeAll(async () => {
  const token = await devToken(e2e, { user: "alice@example.com" });
  proxy = await startAuthProxy(e2e.workerUrl, () => token);
});

afterAll(async () => {
  await proxy?.close();
  if (summary.length > 0) console.log(`MCP conformance (@modelcontextprotocol/conformance):\n${summary.join("\n")}`);
});

function runScenario(scenario: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "server", "--url", `${proxy.url}/mcp`, "--scenario", scenario, "--expected-failures", BASELINE, "--timeout", "60000"], {
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, output }));
  });
}

describe("MCP conformance suite, gateway scenarios", () => {
  it.each(SCENARIOS)(
    "%s",
    async (scenario) => {
      const { code, output } = await runScenario(scenario);
      const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
      const passed = /Passed: (\d+)\/(\d+)/.exec(plain);
      summary.push(`  ${scenario.padEnd(38)} ${passed ? `${passed[1]}/${passed[2]} checks passed` : "no summary"}${code === 0 ? "" : " — FAILED"}`);
      expect(
        code,
        plain
          .split("\n")
          .filter((l) => /FAILURE|unexpected|stale|Error/i.test(l))
          .join("\n") || plain.slice(-2000),
      ).toBe(0);
    },
    120_000,
  );
});
