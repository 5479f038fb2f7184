import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));

/** Environment for wrangler: no telemetry prompts, no update checks, no interactive UI. */
function wranglerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CI: process.env.CI ?? "true", NO_COLOR: "1", FORCE_COLOR: "0" };
}

/** Runs a wrangler command to completion; rejects with its output on failure. */
export function runWrangler(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (${code}):\n${out.slice(-2000)}`))));
  });
}

export interface WranglerDev {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `wrangler dev` on 127.0.0.1 in its own process group (so workerd children stop with it) and resolves
 * once the Worker answers.
 */
export async function startWranglerDev(opts: {
  port: number;
  persistTo: string;
  envFile: string;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  /** Serve https with wrangler's self-signed certificate (tests of a non-loopback PUBLIC_ORIGIN). */
  https?: boolean;
  /** Serve https with this certificate instead (local/tls-cert.ts); implies `https`. */
  httpsCertificate?: { keyPath: string; certPath: string };
  /** Resolves true once the Worker answers; the default GETs / over http on 127.0.0.1. */
  probe?: () => Promise<boolean>;
  /** The user Worker's V8 inspector (npm run bench profiles through it); any free port by default. */
  inspectorPort?: number;
  /** More environment for wrangler (e.g. X_LOCAL_OBSERVABILITY=false). */
  env?: Record<string, string>;
}): Promise<WranglerDev> {
  const args = [
    WRANGLER,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(opts.port),
    "--persist-to",
    opts.persistTo,
    "--env-file",
    opts.envFile,
    "--inspector-port",
    String(opts.inspectorPort ?? 0),
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
    // GET /__scheduled runs the Cron Trigger once (local only): wrangler dev does not fire crons by itself.
    "--test-scheduled",
    ...(opts.https || opts.httpsCertificate ? ["--local-protocol", "https"] : []),
    ...(opts.httpsCertificate ? ["--https-key-path", opts.httpsCertificate.keyPath, "--https-cert-path", opts.httpsCertificate.certPath] : []),
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...wranglerEnv(), ...opts.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const recent: string[] = [];
  const onData = (d: Buffer) => {
    for (const line of d.toString().split("\n")) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > 60) recent.shift();
      opts.log?.(line);
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on("exit", () => {
      exited = true;
      resolve();
    }),
  );

  const stop = async () => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, 5000);
    await exit;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`wrangler dev exited during start:\n${recent.join("\n")}`);
    try {
      if (opts.probe) {
        if (await opts.probe()) return { url, child, stop };
      } else {
        const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return { url, child, stop };
      }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`wrangler dev did not answer within the timeout:\n${recent.join("\n")}`);
}
