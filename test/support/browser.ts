import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { chromium, type Browser, type BrowserContext, type Page, type Request } from "playwright-core";

/**
 * A real Chromium for the browser suites: Debian's package (`.ci/run` installs it), or CHROMIUM_PATH. Flags as
 * the machine notes ask: headless, no background networking (the machine has no network; Chromium's own calls
 * home would fail noisily), a fresh profile per launch (playwright's default).
 */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`No Chromium found (tried ${candidates.join(", ")}); run .ci/run, or apt-get install -y chromium`);
  return found;
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extraArgs],
  });
}

/** Console errors and CSP violations a page reported: a blocked form post or redirect shows up here. */
export function watchPage(page: Page): { problems: string[]; requests: Request[] } {
  const problems: string[] = [];
  const requests: Request[] = [];
  page.on("console", (m) => {
    // Failed loads are reported below with their URL; the browser's own /favicon.ico probe is not a problem.
    if (/^Failed to load resource/.test(m.text())) return;
    if (m.type() === "error" || /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("request", (r) => requests.push(r));
  return { problems, requests };
}

/**
 * Where a client's redirect lands: the URL the browser was sent to with `code` (or `error`) and `state`.
 * - https: caught by request interception (the client's real host is not reachable from here);
 * - loopback: a real HTTP listener on 127.0.0.1 (any port), as native clients run;
 * - private-use scheme (e.g. `cursor://`): the browser hands it to the OS, so it is caught from the 302 that
 *   carries it; a CSP `form-action` refusal of that redirect is caught by `watchPage` as a console error.
 */
export interface CallbackCatcher {
  uri: string;
  received(): Promise<URL>;
  close(): Promise<void>;
}

export async function loopbackCallback(host = "127.0.0.1", path = "/callback"): Promise<CallbackCatcher> {
  let resolve!: (u: URL) => void;
  const got = new Promise<URL>((r) => (resolve = r));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>Signed in</title><p>You can close this window.</p>");
    if (url.pathname === path) resolve(url);
  });
  await new Promise<void>((r) => server.listen({ host: "127.0.0.1", port: 0 }, () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    uri: `http://${host}:${port}${path}`,
    received: () => got,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function interceptedCallback(context: BrowserContext, uri: string): Promise<CallbackCatcher> {
  let resolve!: (u: URL) => void;
  const got = new Promise<URL>((r) => (resolve = r));
  const target = new URL(uri);
  const pattern = (u: URL) => u.origin === target.origin && u.pathname === target.pathname;
  await context.route(pattern, async (route) => {
    resolve(new URL(route.request().url()));
    await route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>Client</title><p>callback</p>" });
  });
  return { uri, received: () => got, close: () => context.unroute(pattern) };
}

export function privateUseCallback(page: Page, uri: string): CallbackCatcher {
  let resolve!: (u: URL) => void;
  const got = new Promise<URL>((r) => (resolve = r));
  page.on("response", (res) => {
    const location = res.headers().location;
    if (res.status() >= 300 && res.status() < 400 && location?.startsWith(`${uri}?`)) resolve(new URL(location));
  });
  return { uri, received: () => got, close: async () => undefined };
}

/** Resolves with the value, or rejects after `ms` naming what was awaited (a browser step that never came). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))]);
}
