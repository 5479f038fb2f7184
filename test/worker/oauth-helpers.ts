import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { s256 } from "../../src/oauth/pkce";

/**
 * Drives the OAuth server the way a browser and an MCP client would, through SELF.fetch only (real D1, the dev
 * clock via POST /dev/clock). Every helper returns the raw Response (or its parsed parts) so tests can assert the
 * exact status and error code.
 */

export const ORIGIN = "http://127.0.0.1:8787";
export const RESOURCE = `${ORIGIN}/mcp`;
export const REDIRECT = "https://app.example/cb";

export type Json = Record<string, unknown>;

export function url(path: string): string {
  return `${ORIGIN}${path}`;
}

export function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(url(path), { headers, redirect: "manual" });
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(url(path), {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A form post; pairs keep repeated keys (scope=…&scope=…). */
export function postForm(path: string, form: Record<string, string | undefined> | Array<[string, string]>, headers: Record<string, string> = {}): Promise<Response> {
  const params = new URLSearchParams();
  if (Array.isArray(form)) for (const [k, v] of form) params.append(k, v);
  else for (const [k, v] of Object.entries(form)) if (v !== undefined) params.append(k, v);
  return SELF.fetch(url(path), {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: params.toString(),
  });
}

export async function readJson(res: Response): Promise<{ status: number; body: Json; text: string }> {
  const text = await res.text();
  let body: Json = {};
  try {
    body = JSON.parse(text) as Json;
  } catch {
    body = {};
  }
  return { status: res.status, body, text };
}

/** Asserts an RFC 6749 §5.2 style error: exact status, exact code, and none of `secrets` anywhere in the body. */
export async function expectOAuthError(res: Response, status: number, error: string, secrets: Array<string | undefined> = []): Promise<Json> {
  const { body, text } = await readJson(res);
  expect({ status: res.status, error: body.error }).toEqual({ status, error });
  expect(typeof body.error_description === "string" || body.error_description === undefined).toBe(true);
  expectNoSecrets(text, secrets);
  return body;
}

export function expectNoSecrets(text: string, secrets: Array<string | undefined>): void {
  for (const s of secrets) if (s) expect(text.includes(s), `response body leaks a secret (${s.slice(0, 8)}…)`).toBe(false);
}

// ---------------------------------------------------------------- clock

/** Moves the gateway's clock (per isolate, so per test file); callers reset it to 0 in afterEach/finally. */
export async function setClock(offsetSeconds: number): Promise<void> {
  const res = await postJson("/dev/clock", { offset_seconds: offsetSeconds });
  expect(res.status).toBe(200);
  await res.body?.cancel();
}

// ---------------------------------------------------------------- registration

let counter = 0;
export function unique(prefix = "t"): string {
  counter += 1;
  return `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * A fresh client IP per call: registration and sign-ins are rate limited per IP (10 and 120 a minute), and each
 * test registers its own clients. Cloudflare sets CF-Connecting-IP at the edge; in workerd the test supplies it.
 * IPv6 addresses count by their /64 (src/http/client-ip.ts), so each fresh address gets a /64 of its own.
 */
export function freshIp(): string {
  return `2001:db8:${(++counter).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}::1`;
}

export function register(meta: unknown, ip = freshIp()): Promise<Response> {
  return postJson("/register", meta, { "CF-Connecting-IP": ip });
}

/** Registers a public client and returns its id. */
export async function registerClient(redirectUris: string[] = [REDIRECT], extra: Json = {}): Promise<string> {
  const res = await register({ client_name: unique("client"), redirect_uris: redirectUris, ...extra });
  const { status, body, text } = await readJson(res);
  expect(status, text).toBe(201);
  return body.client_id as string;
}

// ---------------------------------------------------------------- PKCE

export interface Pkce {
  verifier: string;
  challenge: string;
}

export async function pkce(): Promise<Pkce> {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const verifier = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  return { verifier, challenge: await s256(verifier) };
}

// ---------------------------------------------------------------- /authorize

export interface AuthorizeParams {
  client_id?: string;
  redirect_uri?: string;
  response_type?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  state?: string;
  resource?: string;
  scope?: string;
}

/** The query of a well-formed request, with `override` applied (undefined removes a parameter). */
export function authorizeQuery(base: AuthorizeParams, override: Partial<Record<keyof AuthorizeParams, string | undefined>> = {}, extra: Array<[string, string]> = []): string {
  const merged: Record<string, string | undefined> = { response_type: "code", code_challenge_method: "S256", resource: RESOURCE, ...base };
  for (const [k, v] of Object.entries(override)) merged[k] = v;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(merged)) if (v !== undefined) q.append(k, v);
  for (const [k, v] of extra) q.append(k, v);
  return q.toString();
}

export function authorize(query: string, ip = freshIp()): Promise<Response> {
  return get(`/authorize?${query}`, { "cf-connecting-ip": ip });
}

export function hidden(html: string, name: string): string | undefined {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
}

export function checkboxes(html: string): Array<{ scope: string; checked: boolean }> {
  return [...html.matchAll(/<input type="checkbox" name="scope" value="([^"]+)"( checked="")?/g)].map((m) => ({ scope: m[1]!, checked: Boolean(m[2]) }));
}

export interface LoginFlow {
  clientId: string;
  redirectUri: string;
  state: string;
  pkce: Pkce;
  request: string;
  csrf: string;
  /** `gh_authz=<id>` */
  cookie: string;
  html: string;
}

/** GET /authorize for a fresh (or given) client; expects the 200 login page and returns its form values. */
export async function startAuthorize(opts: { clientId?: string; redirectUri?: string; scope?: string } = {}): Promise<LoginFlow> {
  const redirectUri = opts.redirectUri ?? REDIRECT;
  const clientId = opts.clientId ?? (await registerClient([redirectUri]));
  const p = await pkce();
  const state = unique("state");
  const res = await authorize(authorizeQuery({ client_id: clientId, redirect_uri: redirectUri, code_challenge: p.challenge, state, ...(opts.scope !== undefined ? { scope: opts.scope } : {}) }));
  const html = await res.text();
  expect(res.status, html.slice(0, 400)).toBe(200);
  const setCookie = res.headers.get("set-cookie") ?? "";
  expect(setCookie).toMatch(/^gh_authz=[^;]+/);
  const request = hidden(html, "request");
  const csrf = hidden(html, "csrf");
  expect(request).toBeTruthy();
  expect(csrf).toBeTruthy();
  return { clientId, redirectUri, state, pkce: p, request: request!, csrf: csrf!, cookie: setCookie.split(";")[0]!, html };
}

export function postLogin(flow: LoginFlow, email: string, override: { csrf?: string | null; cookie?: string | null; request?: string } = {}): Promise<Response> {
  return postForm(
    "/authorize/login",
    { request: override.request ?? flow.request, csrf: override.csrf === null ? undefined : (override.csrf ?? flow.csrf), email },
    override.cookie === null ? {} : { Cookie: override.cookie ?? flow.cookie },
  );
}

/** Signs in with the dev login; expects the 200 consent page. */
export async function login(flow: LoginFlow, email = "alice@example.com"): Promise<string> {
  const res = await postLogin(flow, email);
  const html = await res.text();
  expect(res.status, html.slice(0, 400)).toBe(200);
  return html;
}

export interface ConsentChoice {
  decision?: string;
  workspace?: string;
  scopes?: string[];
  csrf?: string | null;
  cookie?: string | null;
  request?: string;
}

export function postConsent(flow: LoginFlow, choice: ConsentChoice = {}): Promise<Response> {
  const pairs: Array<[string, string]> = [["request", choice.request ?? flow.request]];
  if (choice.csrf !== null) pairs.push(["csrf", choice.csrf ?? flow.csrf]);
  pairs.push(["workspace", choice.workspace ?? "demo"]);
  for (const s of choice.scopes ?? ["db:read"]) pairs.push(["scope", s]);
  pairs.push(["decision", choice.decision ?? "allow"]);
  return postForm("/authorize/consent", pairs, choice.cookie === null ? {} : { Cookie: choice.cookie ?? flow.cookie });
}

export interface Redirect {
  location: URL;
  params: URLSearchParams;
}

/** Asserts a 302 to the client's redirect URI and returns its query. */
export function expectRedirect(res: Response, redirectUri: string): Redirect {
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location") ?? "about:blank");
  expect(`${location.origin}${location.pathname}`).toBe(new URL(redirectUri).href.replace(/\?.*$/, ""));
  return { location, params: location.searchParams };
}

export interface Authorized extends LoginFlow {
  code: string;
}

/** The whole browser leg: register, /authorize, dev login, consent allow; returns the code. */
export async function signIn(opts: { email?: string; clientId?: string; redirectUri?: string; scope?: string; scopes?: string[] } = {}): Promise<Authorized> {
  const flow = await startAuthorize(opts);
  await login(flow, opts.email ?? "alice@example.com");
  const res = await postConsent(flow, { scopes: opts.scopes ?? ["db:read"] });
  const { params } = expectRedirect(res, flow.redirectUri);
  expect(params.get("state")).toBe(flow.state);
  expect(params.get("iss")).toBe(ORIGIN);
  expect(params.get("error")).toBeNull();
  const code = params.get("code");
  expect(code).toBeTruthy();
  return { ...flow, code: code! };
}

// ---------------------------------------------------------------- /token

export function exchange(a: Authorized, override: Record<string, string | undefined> = {}): Promise<Response> {
  return postForm("/token", {
    grant_type: "authorization_code",
    code: a.code,
    code_verifier: a.pkce.verifier,
    redirect_uri: a.redirectUri,
    client_id: a.clientId,
    resource: RESOURCE,
    ...override,
  });
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

export async function expectTokens(res: Response): Promise<Tokens> {
  const { status, body, text } = await readJson(res);
  expect(status, text).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(body.token_type).toBe("Bearer");
  expect(typeof body.access_token).toBe("string");
  return body as unknown as Tokens;
}

export interface Session extends Authorized {
  tokens: Tokens;
}

/** Sign-in plus code exchange. */
export async function session(opts: Parameters<typeof signIn>[0] = {}): Promise<Session> {
  const a = await signIn(opts);
  const tokens = await expectTokens(await exchange(a));
  expect(typeof tokens.refresh_token).toBe("string");
  return { ...a, tokens };
}

export function refresh(clientId: string, refreshToken: string, extra: Record<string, string | undefined> = {}): Promise<Response> {
  return postForm("/token", { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId, ...extra });
}

export function basic(id: string, secret: string): string {
  return `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;
}

// ---------------------------------------------------------------- /mcp

const LIST = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });

export function mcpList(token: string): Promise<Response> {
  return SELF.fetch(RESOURCE, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: LIST,
  });
}

export async function mcpStatus(token: string): Promise<number> {
  const res = await mcpList(token);
  await res.body?.cancel();
  return res.status;
}

export async function toolNames(token: string): Promise<string[]> {
  const res = await mcpList(token);
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(200);
  return (JSON.parse(text) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name).sort();
}

/** A dev-minted access token (POST /dev/token). */
export async function devToken(body: Json): Promise<string> {
  const { status, body: out, text } = await readJson(await postJson("/dev/token", body));
  expect(status, text).toBe(200);
  return out.access_token as string;
}

/** Creates (or replaces) a task client with a known secret through POST /dev/task-client. */
export async function taskClient(opts: { tools?: string[]; ttl?: number } = {}): Promise<{ clientId: string; secret: string }> {
  const clientId = unique("task");
  const secret = `ghs_${crypto.randomUUID()}${crypto.randomUUID()}`;
  const res = await postJson("/dev/task-client", {
    task: "nightly-revenue-report",
    workspace: "demo",
    client_id: clientId,
    client_secret: secret,
    tools: opts.tools ?? ["revenue_summary"],
    ttl_seconds: opts.ttl ?? 600,
  });
  expect(res.status).toBe(200);
  await res.body?.cancel();
  return { clientId, secret };
}

/** Decodes a JWT's payload without verifying it (tests only). */
export function jwtPayload(token: string): Json {
  const part = token.split(".")[1]!;
  return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))) as Json;
}
