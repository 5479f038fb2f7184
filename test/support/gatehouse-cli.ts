import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import type { DevTarget } from "../../local/stack";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (bin/gatehouse.mjs) against a running stack, passing its dev secret; never throws on exit codes. */
export async function gatehouseCli(stack: DevTarget, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, "bin/gatehouse.mjs"), ...args, "--url", stack.workerUrl], {
      cwd: ROOT,
      env: { ...process.env, GATEHOUSE_DEV_SECRET: stack.devSecret },
      timeout: 120_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
