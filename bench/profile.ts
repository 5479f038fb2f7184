import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CpuProfile } from "./inspector";

/**
 * Reads a V8 CPU profile of the user Worker: self time per function and per package, the package taken from the
 * module comments esbuild leaves in wrangler's (unminified) bundle (`// node_modules/hono/dist/…`, `// src/mcp/…`).
 */
export interface ProfileSummary {
  calls: number;
  sampledMs: number;
  /** JavaScript and runtime built-ins running in the isolate. */
  jsMs: number;
  /** Of jsMs: functions without a script (V8 builtins, the runtime's native APIs such as fetch or Response). */
  nativeMs: number;
  gcMs: number;
  /** V8's "(program)": native work in the isolate's thread outside JavaScript (e.g. the runtime's own C++). */
  programMs: number;
  idleMs: number;
  /** (JavaScript + GC) per call: what the gateway's code costs in its isolate. */
  isolateMsPerCall: number;
  /** The same with "(program)" added (an upper bound). */
  isolateWithProgramMsPerCall: number;
  topFunctions: Array<{ function: string; where: string; package: string; selfMs: number; msPerCall: number }>;
  packages: Array<{ package: string; selfMs: number; msPerCall: number }>;
}

interface Marker {
  line: number;
  file: string;
}

export function bundleMarkers(source: string): Marker[] {
  const out: Marker[] = [];
  const lines = source.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\/ ((?:\.\.\/)*[\w@.+-][^\s]*\.(?:m?[jt]sx?|cjs|wasm))$/.exec(lines[i]!);
    if (m) out.push({ line: i, file: m[1]! });
  }
  return out;
}

/** node_modules/<pkg> (scoped too), src/<folder>, or the file itself. */
export function packageOf(file: string): string {
  const nm = file.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = file.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = file.indexOf("src/");
  if (src >= 0) {
    const parts = file.slice(src).split("/");
    return parts.length > 2 ? `${parts[0]}/${parts[1]}/` : "src/ (top level)";
  }
  if (file.startsWith("node-built-in-modules:")) return "runtime";
  return file;
}

function fileAt(markers: Marker[], line: number): string | undefined {
  let lo = 0;
  let hi = markers.length - 1;
  let found: Marker | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (markers[mid]!.line <= line) {
      found = markers[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found?.file;
}

function readBundle(url: string): string | undefined {
  try {
    return readFileSync(url.startsWith("file://") ? fileURLToPath(url) : url, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * `intervalMicros`: the sampling interval. Self time is samples × interval: under load the sampler's own gaps
 * (timeDeltas of many intervals while the thread served other isolates or was descheduled) would otherwise be
 * charged to whatever function happened to be sampled last.
 */
export function summarizeProfile(profile: CpuProfile, calls: number, intervalMicros: number, bundlePath?: string, top = 15): ProfileSummary {
  const self = new Map<number, number>();
  const tick = intervalMicros / 1000;
  for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + tick);
  // The Worker's bundle: the script named like the bundle file, else the busiest script that is not the runtime's.
  const byUrl = new Map<string, number>();
  for (const n of profile.nodes) if (n.callFrame.url) byUrl.set(n.callFrame.url, (byUrl.get(n.callFrame.url) ?? 0) + (self.get(n.id) ?? 0));
  const base = bundlePath?.replace(/^.*\//, "");
  const userUrls = [...byUrl.entries()].filter(([u]) => !/^(cloudflare-internal|node|workerd|internal):/.test(u)).sort((a, b) => b[1] - a[1]);
  const bundleUrl = userUrls.find(([u]) => base !== undefined && (u === base || u.endsWith(`/${base}`)))?.[0] ?? userUrls[0]?.[0];
  const source = bundlePath ? readBundle(bundlePath) : bundleUrl ? readBundle(bundleUrl) : undefined;
  const markers = source ? bundleMarkers(source) : [];

  let js = 0;
  let native = 0;
  let gc = 0;
  let program = 0;
  let idle = 0;
  const fns = new Map<string, { function: string; where: string; package: string; selfMs: number }>();
  const pkgs = new Map<string, number>();
  for (const n of profile.nodes) {
    const ms = self.get(n.id) ?? 0;
    if (ms === 0) continue;
    const name = n.callFrame.functionName;
    if (name === "(idle)") {
      idle += ms;
      continue;
    }
    if (name === "(program)" || name === "(root)") {
      program += ms;
      continue;
    }
    let pkg: string;
    let where: string;
    if (name === "(garbage collector)") {
      gc += ms;
      pkg = "GC";
      where = "";
    } else {
      js += ms;
      const url = n.callFrame.url;
      if (url && url === bundleUrl) {
        const file = fileAt(markers, n.callFrame.lineNumber);
        pkg = file ? packageOf(file) : "bundle";
        where = `${file ?? "bundle"}:${n.callFrame.lineNumber + 1}`;
      } else {
        // The runtime's own JavaScript (D1 client, tracing, rate-limit client) by module; natives apart.
        pkg = url ? `runtime: ${url.replace(/^cloudflare-internal:/, "")}` : "runtime: native";
        where = url || "(native)";
        if (!url) native += ms;
      }
    }
    const key = `${name}\n${where}`;
    const f = fns.get(key) ?? { function: name || "(anonymous)", where, package: pkg, selfMs: 0 };
    f.selfMs += ms;
    fns.set(key, f);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + ms);
  }
  const per = (ms: number) => ms / Math.max(1, calls);
  return {
    calls,
    sampledMs: js + gc + program + idle,
    jsMs: js,
    nativeMs: native,
    gcMs: gc,
    programMs: program,
    idleMs: idle,
    isolateMsPerCall: per(js + gc),
    isolateWithProgramMsPerCall: per(js + gc + program),
    topFunctions: [...fns.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((f) => ({ ...f, msPerCall: per(f.selfMs) })),
    packages: [...pkgs.entries()].sort((a, b) => b[1] - a[1]).map(([p, ms]) => ({ package: p, selfMs: ms, msPerCall: per(ms) })),
  };
}
