/**
 * A minimal Chrome DevTools Protocol client for the user Worker's V8 inspector: wrangler dev's inspector proxy
 * (--inspector-port) or workerd's own (Miniflare's inspectorPort), which lists one target per Worker.
 */
export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number; scriptId: string };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Target {
  id?: string;
  title?: string;
  url?: string;
  webSocketDebuggerUrl?: string;
}

export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
    ws.addEventListener("close", () => {
      for (const p of this.pending.values()) p.reject(new Error("inspector closed"));
      this.pending.clear();
    });
  }

  /** Connects to the target whose title or URL names `worker` (e.g. "gatehouse"), or the only one. */
  static async connect(port: number, worker: string): Promise<Inspector> {
    let targets: Target[] = [];
    for (const path of ["/json/list", "/json"]) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined);
      if (res?.ok) {
        targets = (await res.json()) as Target[];
        if (targets.length > 0) break;
      }
    }
    const withWs = targets.filter((t) => t.webSocketDebuggerUrl);
    const target =
      withWs.find((t) => `${t.title ?? ""} ${t.id ?? ""} ${t.url ?? ""}`.includes(`core:user:${worker}`)) ??
      withWs.find((t) => `${t.title ?? ""} ${t.id ?? ""}`.includes(worker)) ??
      (withWs.length === 1 ? withWs[0] : undefined);
    if (!target?.webSocketDebuggerUrl) throw new Error(`no inspector target for ${worker} on port ${port}: ${JSON.stringify(targets).slice(0, 500)}`);
    // wrangler's inspector proxy wants a local Origin (as DevTools sends); Node's WebSocket takes headers in its init.
    const init = { headers: { Origin: "http://127.0.0.1" } } as unknown as string[];
    const ws = new WebSocket(target.webSocketDebuggerUrl, init);
    await new Promise<void>((resolve, reject) => {
      setTimeout(() => reject(new Error(`inspector connection to ${target.webSocketDebuggerUrl} timed out`)), 15_000).unref();
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`inspector connection to ${target.webSocketDebuggerUrl} failed`)), { once: true });
    });
    return new Inspector(ws);
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method} within 60 s`)), 60_000);
      timer.unref();
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Isolate heap in use after a full garbage collection. workerd does not answer HeapProfiler.collectGarbage; a heap
   * snapshot collects garbage first (its chunks are ignored).
   */
  async heapAfterGc(): Promise<{ usedBytes: number; totalBytes: number }> {
    await this.send("HeapProfiler.enable");
    await this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    await this.send("HeapProfiler.disable");
    const h = await this.send<{ usedSize: number; totalSize: number }>("Runtime.getHeapUsage");
    return { usedBytes: h.usedSize, totalBytes: h.totalSize };
  }

  async startProfile(intervalMicros: number): Promise<void> {
    await this.send("Profiler.enable");
    await this.send("Profiler.setSamplingInterval", { interval: intervalMicros });
    await this.send("Profiler.start");
  }

  async stopProfile(): Promise<CpuProfile> {
    const { profile } = await this.send<{ profile: CpuProfile }>("Profiler.stop");
    await this.send("Profiler.disable");
    return profile;
  }

  close(): void {
    this.ws.close();
  }
}
