import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { interceptedCallback, launchChromium, loopbackCallback, privateUseCallback, watchPage, within, type CallbackCatcher } from "../support/browser";
import { authorizeUrl, listToolNames, newPkce, registerAs, tokenRequest } from "../support/oauth-client";

/**
 * The clients the README names, replayed in a real Chromium against the dev stack: each row is what that client
 * sends (its registration body, redirect URIs, whether it sends `resource`, the scope it asks for, and how its
 * redirect comes back), taken from the clients' public documentation and issue trackers. Each row runs
 * register → /authorize in the browser → dev login → consent → code → token → tools/list → one refresh.
 *
 * A form walked with fetch sends no Origin, runs no CSP and keeps no SameSite rules; a browser does all three,
 * which is why these flows are driven in Chromium.
 */
const e2e = inject("e2e");
const ALICE_TOOLS = ["pipeline_coverage", "revenue_summary"];

type Callback = { kind: "https"; uri: string } | { kind: "loopback"; host: "127.0.0.1" | "localhost" } | { kind: "fixed-loopback"; uri: string } | { kind: "private-use"; uri: string };

interface ClientProfile {
  name: string;
  callback: Callback;
  /** The registration body, given the redirect URI the client will use. */
  registration: (redirectUri: string) => Record<string, unknown>;
  /** The redirect URI on /authorize, when it differs from the registered one (VS Code: the bare origin). */
  authorizeRedirect?: (redirectUri: string) => string;
  sendsResource: boolean;
  scope?: string;
  /** The client also sends `resource` on /token (refresh included). */
  resourceOnToken: boolean;
}

const GRANTS = ["authorization_code", "refresh_token"];

const PROFILES: ClientProfile[] = [
  {
    name: "Claude.ai web (custom connector)",
    callback: { kind: "https", uri: "https://claude.ai/api/mcp/auth_callback" },
    registration: (r) => ({ client_name: "Claude", redirect_uris: [r], grant_types: GRANTS, response_types: ["code"], token_endpoint_auth_method: "none" }),
    sendsResource: false, // the connector flow omits RFC 8707 resource
    scope: "claudeai",
    resourceOnToken: false,
  },
  {
    name: "Claude Code",
    callback: { kind: "loopback", host: "localhost" },
    registration: (r) => ({ client_name: "Claude Code (gatehouse)", redirect_uris: [r], grant_types: GRANTS, response_types: ["code"], token_endpoint_auth_method: "none" }),
    sendsResource: false,
    resourceOnToken: false,
  },
  {
    name: "ChatGPT (connector)",
    callback: { kind: "https", uri: "https://chatgpt.com/connector_platform_oauth_redirect" },
    // ChatGPT registers without scope and asks for none.
    registration: (r) => ({ client_name: "ChatGPT", redirect_uris: [r], grant_types: GRANTS, response_types: ["code"], token_endpoint_auth_method: "none" }),
    sendsResource: true,
    resourceOnToken: true,
  },
  {
    name: "Cursor",
    callback: { kind: "private-use", uri: "cursor://anysphere.cursor-mcp/oauth/callback" },
    registration: () => ({
      client_name: "Cursor",
      redirect_uris: ["cursor://anysphere.cursor-mcp/oauth/callback", "https://www.cursor.com/agents/mcp/oauth/callback", "http://localhost:8787/callback"],
      grant_types: GRANTS,
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    }),
    sendsResource: true,
    resourceOnToken: true,
  },
  {
    name: "VS Code",
    callback: { kind: "fixed-loopback", uri: "http://127.0.0.1:33418/" },
    registration: () => ({
      client_name: "Visual Studio Code",
      redirect_uris: ["http://127.0.0.1:33418", "https://vscode.dev/redirect"],
      grant_types: GRANTS,
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    }),
    sendsResource: true,
    scope: "db:read db:sql db:write", // everything the protected-resource metadata lists
    resourceOnToken: true,
  },
  {
    name: "Codex CLI",
    callback: { kind: "loopback", host: "127.0.0.1" },
    registration: (r) => ({ client_name: "Codex", redirect_uris: [r], grant_types: GRANTS, response_types: ["code"], token_endpoint_auth_method: "none" }),
    sendsResource: false,
    scope: "openid profile offline_access",
    resourceOnToken: false,
  },
  {
    name: "MCP Inspector",
    callback: { kind: "fixed-loopback", uri: "http://localhost:6274/oauth/callback" },
    registration: (r) => ({
      client_name: "MCP Inspector",
      client_uri: "https://github.com/modelcontextprotocol/inspector",
      redirect_uris: [r],
      grant_types: GRANTS,
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      scope: "db:read db:sql db:write",
    }),
    sendsResource: true,
    scope: "db:read db:sql db:write",
    resourceOnToken: true,
  },
];

let browser: Browser;
const results: Array<{ client: string; result: string; ms: number }> = [];

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (results.length > 0) console.log(`Chromium ${browser?.version()}\n${results.map((r) => `  ${r.client.padEnd(34)} ${r.result} (${r.ms} ms)`).join("\n")}`);
});

/** A browser context per client: its own cookies, and its own client IP for the per-IP limits. */
async function newContext(ip: string): Promise<BrowserContext> {
  return browser.newContext({ extraHTTPHeaders: { "cf-connecting-ip": ip } });
}

async function catcherFor(cb: Callback, context: BrowserContext, page: Page): Promise<CallbackCatcher> {
  switch (cb.kind) {
    case "https":
    case "fixed-loopback":
      return interceptedCallback(context, cb.uri);
    case "loopback":
      return loopbackCallback(cb.host);
    case "private-use":
      return privateUseCallback(page, cb.uri);
  }
}

/** On Gatehouse's login page: the dev login's button for `email`. */
async function devLogin(page: Page, email: string): Promise<void> {
  await page.locator(`button[name="email"][value="${email}"]`).click();
  await page.waitForSelector("h1:has-text('Allow')");
}

/**
 * One browser session for a one-off client: its own context and IP, a watched page, a callback catcher for
 * `callbackUri` (https, intercepted) or a loopback listener, and the client registered; closed afterwards.
 */
async function withClient(
  opts: { ip: string; name: string; callbackUri?: string },
  run: (s: { page: Page; watch: ReturnType<typeof watchPage>; catcher: CallbackCatcher; clientId: string }) => Promise<void>,
): Promise<void> {
  const context = await newContext(opts.ip);
  const page = await context.newPage();
  const watch = watchPage(page);
  const catcher = opts.callbackUri ? await interceptedCallback(context, opts.callbackUri) : await loopbackCallback();
  try {
    const clientId = await registerAs(e2e.workerUrl, { client_name: opts.name, redirect_uris: [catcher.uri] }, { "cf-connecting-ip": opts.ip });
    await run({ page, watch, catcher, clientId });
  } finally {
    await catcher.close();
    await context.close();
  }
}

let ipCounter = 10;

async function runProfile(profile: ClientProfile): Promise<void> {
  const ip = `198.18.0.${ipCounter++}`;
  const context = await newContext(ip);
  const page = await context.newPage();
  const watch = watchPage(page);
  const catcher = await catcherFor(profile.callback, context, page);
  try {
    const registered = catcher.uri;
    const clientId = await registerAs(e2e.workerUrl, profile.registration(registered), { "cf-connecting-ip": ip });
    const redirectUri = profile.authorizeRedirect?.(registered) ?? registered;
    const pkce = newPkce();
    const state = `st-${profile.name.length}-${Date.now()}`;
    const url = authorizeUrl(e2e.workerUrl, {
      clientId,
      redirectUri,
      pkce,
      state,
      ...(profile.scope !== undefined ? { scope: profile.scope } : {}),
      ...(profile.sendsResource ? { resource: e2e.mcpUrl } : {}),
    });

    const loginPage = await page.goto(url.href);
    expect(loginPage?.status(), await loginPage?.text()).toBe(200);
    await devLogin(page, "alice@example.com");
    // The consent page names where the code goes; for an app scheme, the scheme says which app.
    if (profile.callback.kind === "private-use") expect(await page.locator("code").first().textContent()).toBe("cursor://anysphere.cursor-mcp");
    // Read-only is preselected; nothing else Alice holds.
    expect(await page.locator('input[name="scope"]:checked').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).toEqual(["db:read"]);
    await page.locator('button[name="decision"][value="allow"]').click();
    const back = await within(catcher.received(), 15_000, `${profile.name}'s redirect`);

    expect(back.searchParams.get("error"), back.href).toBeNull();
    expect(back.searchParams.get("state")).toBe(state);
    expect(back.searchParams.get("iss")).toBe(e2e.workerUrl);
    const code = back.searchParams.get("code")!;
    expect(code).toBeTruthy();
    expect(watch.problems).toEqual([]);
    // The forms were posted by the browser with our origin, never "null".
    const posts = watch.requests.filter((r) => r.method() === "POST");
    expect(posts.map((r) => new URL(r.url()).pathname)).toEqual(["/authorize/login", "/authorize/consent"]);
    for (const p of posts) expect(await p.headerValue("origin")).toBe(e2e.workerUrl);

    const resource = profile.resourceOnToken ? e2e.mcpUrl : undefined;
    const tokens = await tokenRequest(e2e.workerUrl, { grant_type: "authorization_code", code, code_verifier: pkce.verifier, redirect_uri: redirectUri, client_id: clientId, resource });
    expect(tokens.scope).toBe("db:read");
    expect(await listToolNames(e2e.mcpUrl, tokens.access_token)).toEqual(ALICE_TOOLS);
    const refreshed = await tokenRequest(e2e.workerUrl, { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: clientId, resource });
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(await listToolNames(e2e.mcpUrl, refreshed.access_token)).toEqual(ALICE_TOOLS);
  } finally {
    await catcher.close();
    await context.close();
  }
}

describe("client profiles in Chromium: register → authorize → dev login → consent → token → tools/list → refresh", () => {
  it.each(PROFILES.map((p) => [p.name, p] as const))("%s", async (name, profile) => {
    const t = performance.now();
    try {
      await runProfile(profile);
      results.push({ client: name, result: "signed in, listed tools, refreshed", ms: Math.round(performance.now() - t) });
    } catch (e) {
      results.push({ client: name, result: `FAILED: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`, ms: Math.round(performance.now() - t) });
      throw e;
    }
  });
});

describe("other browser steps", () => {
  it("a consent denial returns access_denied with the state to the client, and issues no code", async () => {
    await withClient({ ip: "198.18.1.1", name: "Denied", callbackUri: "https://client.example/cb" }, async ({ page, watch, catcher, clientId }) => {
      await page.goto(authorizeUrl(e2e.workerUrl, { clientId, redirectUri: catcher.uri, pkce: newPkce(), state: "deny-1", resource: e2e.mcpUrl }).href);
      await devLogin(page, "alice@example.com");
      await page.locator('button[name="decision"][value="deny"]').click();
      const back = await within(catcher.received(), 15_000, "the denial redirect");
      expect(back.searchParams.get("error")).toBe("access_denied");
      expect(back.searchParams.get("state")).toBe("deny-1");
      expect(back.searchParams.get("code")).toBeNull();
      expect(watch.problems).toEqual([]);
    });
  });

  it("a user with no tools is sent back with access_denied straight from the login form (CSP allows that redirect)", async () => {
    await withClient({ ip: "198.18.1.2", name: "Nothing granted", callbackUri: "https://client.example/none" }, async ({ page, watch, catcher, clientId }) => {
      await page.goto(authorizeUrl(e2e.workerUrl, { clientId, redirectUri: catcher.uri, pkce: newPkce(), state: "none-1" }).href);
      await page.locator('button[name="email"][value="maria@example.com"]').click();
      const back = await within(catcher.received(), 15_000, "the access_denied redirect");
      expect(back.searchParams.get("error")).toBe("access_denied");
      expect(watch.problems).toEqual([]);
    });
  });

  it("upstream OpenID Connect sign-in in the browser: Gatehouse → test IdP login and consent → callback → consent → code → tools", async () => {
    await withClient({ ip: "198.18.1.3", name: "OIDC browser" }, async ({ page, watch, catcher, clientId }) => {
      const pkce = newPkce();
      await page.goto(authorizeUrl(e2e.workerUrl, { clientId, redirectUri: catcher.uri, pkce, state: "oidc-1", resource: e2e.mcpUrl }).href);
      await page.locator("button:has-text('Sign in with Test IdP')").click();
      await page.waitForURL((u) => u.origin === e2e.oidc.issuer);
      await page.locator('input[name="login"]').fill("alice@example.com");
      await page.locator('input[name="password"]').fill("alice-pw");
      await page.locator("button:has-text('Sign in')").click();
      await page.locator("button:has-text('Continue')").click();
      await page.waitForSelector("h1:has-text('Allow')");
      expect(new URL(page.url()).pathname).toBe("/authorize/oidc/callback");
      await page.locator('button[name="decision"][value="allow"]').click();
      const back = await within(catcher.received(), 15_000, "the client redirect after OIDC");
      expect(back.searchParams.get("state")).toBe("oidc-1");
      const tokens = await tokenRequest(e2e.workerUrl, {
        grant_type: "authorization_code",
        code: back.searchParams.get("code")!,
        code_verifier: pkce.verifier,
        redirect_uri: catcher.uri,
        client_id: clientId,
      });
      // At the IdP Alice is an account executive: her tools follow that group.
      expect(await listToolNames(e2e.mcpUrl, tokens.access_token)).toContain("pipeline_coverage");
      expect(watch.problems).toEqual([]);
      const ours = watch.requests.filter((r) => r.method() === "POST" && r.url().startsWith(e2e.workerUrl));
      for (const p of ours) expect(await p.headerValue("origin")).toBe(e2e.workerUrl);
    });
  });

  it("pages carry a same-origin referrer policy, no-store and anti-framing; the request cookie is HttpOnly, SameSite=Lax and not Secure on http loopback", async () => {
    await withClient({ ip: "198.18.1.4", name: "Headers", callbackUri: "https://client.example/h" }, async ({ page, catcher, clientId }) => {
      const res = await page.goto(authorizeUrl(e2e.workerUrl, { clientId, redirectUri: catcher.uri, pkce: newPkce(), state: "h" }).href);
      const h = res!.headers();
      expect(h["referrer-policy"]).toBe("same-origin");
      expect(h["cache-control"]).toBe("no-store");
      expect(h["content-security-policy"]).toContain("frame-ancestors 'none'");
      // The login form may end at the identity provider or (nothing granted) back at the client.
      expect(h["content-security-policy"]).toMatch(/form-action 'self' [^;]*https:\/\/client\.example[ ;]/);
      expect(h["content-security-policy"]).toContain(e2e.oidc.issuer);
      expect(await page.evaluate(() => document.querySelector('meta[name="referrer"]')?.getAttribute("content"))).toBe("same-origin");
      const cookie = (await page.context().cookies()).find((c) => c.name === "gh_authz");
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false, path: "/authorize" });
    });
  });

  it("/mcp still refuses Origin: null (a sandboxed frame or a file:// page sends it)", async () => {
    const res = await fetch(e2e.mcpUrl, { method: "POST", headers: { Origin: "null", "Content-Type": "application/json", Accept: "application/json, text/event-stream" }, body: "{}" });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_origin");
  });
});
