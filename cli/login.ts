import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { spawn } from "node:child_process";
import { normalizeUrl, readCredentials, updateCredentials, type StoredLogin } from "./credentials";

/**
 * `gatehouse login` / `logout` and the stored sign-in behind every server command.
 *
 * The CLI is a native app (RFC 8252): a public client using the authorization code flow with PKCE S256 and a
 * loopback redirect on 127.0.0.1 at a port the OS picks (§7.3; Gatehouse matches a registered loopback redirect
 * at any port). It registers itself by dynamic client registration (RFC 7591) at each login, like any MCP client,
 * so it needs nothing configured on the server and never reuses a registration that may since have been revoked
 * or pruned. It asks for the gateway's own scopes only (gatehouse:admin, gatehouse:approve): the consent page
 * offers each only to members of the right group, and the user ticks them. The refresh token is stored (see
 * credentials.ts); each command trades it for an access token, saving the rotated refresh token first.
 */
export const CLI_SCOPE = "gatehouse:admin gatehouse:approve";
const CALLBACK_PATH = "/callback";
const LOGIN_TIMEOUT_MS = 5 * 60_000;

export class CliError extends Error {}

interface AsMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint?: string;
  revocation_endpoint?: string;
}

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  scope?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { Accept: "application/json" } }).catch(() => {
    throw new CliError(`cannot reach ${url}`);
  });
  if (!res.ok) throw new CliError(`${url} answered ${res.status}`);
  return (await res.json()) as T;
}

/** RFC 8414 metadata, whose issuer must be the URL itself (§3.3), and the RFC 9728 resource it protects. */
async function discover(url: string): Promise<{ as: AsMetadata; resource: string }> {
  const as = await getJson<AsMetadata>(`${url}/.well-known/oauth-authorization-server`);
  if (normalizeUrl(as.issuer ?? "") !== url) throw new CliError(`${url} names a different issuer (${String(as.issuer)}); use --url ${String(as.issuer)}`);
  const prm = await getJson<{ resource?: string }>(`${url}/.well-known/oauth-protected-resource`);
  if (typeof prm.resource !== "string") throw new CliError(`${url} publishes no protected resource`);
  return { as, resource: prm.resource };
}

async function postForm(endpoint: string, form: Record<string, string>): Promise<{ status: number; json: TokenResponse }> {
  const res = await fetch(endpoint, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" }, body: new URLSearchParams(form).toString() }).catch(
    () => {
      throw new CliError(`cannot reach ${endpoint}`);
    },
  );
  return { status: res.status, json: (await res.json().catch(() => ({}))) as TokenResponse };
}

/** The claims shown after login (the token is not verified here: the server verifies it on every call). */
function claimsOf(accessToken: string): { sub?: string; ws?: string } {
  try {
    return JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString("utf8")) as { sub?: string; ws?: string };
  } catch {
    return {};
  }
}

/** Opens the URL with the platform's opener, without a shell; if there is none the printed URL is the way. */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["rundll32", ["url.dll,FileProtocolHandler", url]] : ["xdg-open", [url]];
  try {
    const child = spawn(cmd, args as string[], { detached: true, stdio: "ignore" });
    child.on("error", () => undefined);
    child.unref();
  } catch {
    // No opener: the URL is printed above.
  }
}

const page = (title: string, text: string) => `<!doctype html><meta charset="utf-8"><title>${title}</title><p>${text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)}</p>`;

/** A one-shot loopback listener for the authorization response; anything but our state on /callback is ignored. */
async function loopbackListener(state: string): Promise<{ redirectUri: string; response: Promise<URLSearchParams>; close(): void }> {
  let resolve!: (q: URLSearchParams) => void;
  const response = new Promise<URLSearchParams>((r) => (resolve = r));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== CALLBACK_PATH || url.searchParams.get("state") !== state) {
      res.writeHead(404, { "Content-Type": "text/html; charset=utf-8" }).end(page("Not found", "Not a Gatehouse sign-in response."));
      return;
    }
    const error = url.searchParams.get("error");
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" });
    res.end(error ? page("Sign-in failed", `Sign-in failed (${error}). Return to the terminal.`) : page("Signed in", "Signed in to Gatehouse. You can close this window and return to the terminal."));
    resolve(url.searchParams);
  });
  await new Promise<void>((r, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => r());
  });
  const port = (server.address() as { port: number }).port;
  return {
    redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    response,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

export interface LoginResult {
  login: StoredLogin;
  scope: string;
}

/** The whole interactive sign-in; `say` prints instructions (to stderr), `open` whether to launch a browser. */
export async function login(rawUrl: string, opts: { open: boolean; scope?: string; say: (line: string) => void }): Promise<LoginResult> {
  const url = normalizeUrl(rawUrl);
  const { as, resource } = await discover(url);
  if (!as.registration_endpoint) throw new CliError(`${url} offers no client registration`);
  const state = randomBytes(16).toString("base64url");
  const verifier = randomBytes(32).toString("base64url");
  const listener = await loopbackListener(state);
  try {
    const reg = await fetch(as.registration_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      // Registered without a port: the loopback redirect matches at whichever port this login listens on.
      body: JSON.stringify({
        client_name: "Gatehouse CLI",
        redirect_uris: [`http://127.0.0.1${CALLBACK_PATH}`],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
      }),
    }).catch(() => {
      throw new CliError(`cannot reach ${as.registration_endpoint}`);
    });
    const registered = (await reg.json().catch(() => ({}))) as { client_id?: string; error?: string; error_description?: string };
    if (reg.status !== 201 || !registered.client_id) throw new CliError(`registration refused (${reg.status}): ${registered.error_description ?? registered.error ?? ""}`);
    const clientId = registered.client_id;

    const authorize = new URL(as.authorization_endpoint);
    authorize.search = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: listener.redirectUri,
      scope: opts.scope ?? CLI_SCOPE,
      resource,
      state,
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    }).toString();
    opts.say(`To sign in to ${url}, open this URL in a browser (on this machine: the answer comes back to ${listener.redirectUri}):`);
    opts.say(authorize.href);
    if (opts.open) openBrowser(authorize.href);

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CliError(`no sign-in within ${LOGIN_TIMEOUT_MS / 60_000} minutes`)), LOGIN_TIMEOUT_MS);
    });
    const answer = await Promise.race([listener.response, timeout]).finally(() => clearTimeout(timer));
    // RFC 9207: the response names its issuer; one from another server is a mix-up attack.
    const iss = answer.get("iss");
    if (iss !== null && normalizeUrl(iss) !== url) throw new CliError(`the sign-in response came from another issuer (${iss})`);
    const error = answer.get("error");
    if (error) throw new CliError(`sign-in refused: ${error}${answer.get("error_description") ? `: ${answer.get("error_description")}` : ""}`);
    const code = answer.get("code");
    if (!code) throw new CliError("the sign-in response carried no code");

    const tokens = await postForm(as.token_endpoint, { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: listener.redirectUri, client_id: clientId, resource });
    if (tokens.status !== 200 || !tokens.json.access_token) throw new CliError(`token request refused (${tokens.status}): ${tokens.json.error_description ?? tokens.json.error ?? ""}`);
    if (!tokens.json.refresh_token) throw new CliError("the server issued no refresh token");
    const claims = claimsOf(tokens.json.access_token);
    const stored: StoredLogin = {
      url,
      issuer: as.issuer,
      token_endpoint: as.token_endpoint,
      ...(as.revocation_endpoint ? { revocation_endpoint: as.revocation_endpoint } : {}),
      resource,
      client_id: clientId,
      refresh_token: tokens.json.refresh_token,
      scope: tokens.json.scope ?? "",
      ...(claims.sub ? { subject: claims.sub } : {}),
      ...(claims.ws ? { workspace: claims.ws } : {}),
      saved_at: new Date().toISOString(),
    };
    let previous: StoredLogin | undefined;
    await updateCredentials((file) => {
      previous = file.logins[url];
      file.logins[url] = stored;
      file.current = url;
    });
    // The sign-in this one replaces ends now rather than at its idle timeout.
    if (previous) await revoke(previous).catch(() => undefined);
    return { login: stored, scope: stored.scope };
  } finally {
    listener.close();
  }
}

async function revoke(l: StoredLogin): Promise<void> {
  if (!l.revocation_endpoint) return;
  const res = await postForm(l.revocation_endpoint, { token: l.refresh_token, token_type_hint: "refresh_token", client_id: l.client_id });
  if (res.status !== 200) throw new CliError(`revocation refused (${res.status}): ${res.json.error_description ?? res.json.error ?? ""}`);
}

/** `gatehouse logout`: revokes the stored refresh token (RFC 7009), then forgets the sign-in. */
export async function logout(rawUrl: string): Promise<StoredLogin | undefined> {
  const url = normalizeUrl(rawUrl);
  const stored = (await readCredentials()).logins[url];
  if (!stored) return undefined;
  await revoke(stored);
  await updateCredentials((file) => {
    delete file.logins[url];
    if (file.current === url) delete file.current;
  });
  return stored;
}

const cache = new Map<string, { token: string; expiresAt: number }>();

/**
 * An access token from the stored sign-in for `url`, or undefined when there is none. Refreshed silently: kept in
 * memory until 30 s before it expires, then the refresh token is traded again and the rotated one saved before
 * the new access token is used (a lost rotation would end the sign-in).
 */
export async function storedAccessToken(rawUrl: string): Promise<string | undefined> {
  const url = normalizeUrl(rawUrl);
  const cached = cache.get(url);
  if (cached && cached.expiresAt - 30_000 > Date.now()) return cached.token;
  const stored = (await readCredentials()).logins[url];
  if (!stored) return undefined;
  const res = await postForm(stored.token_endpoint, { grant_type: "refresh_token", refresh_token: stored.refresh_token, client_id: stored.client_id, resource: stored.resource });
  if (res.status !== 200 || !res.json.access_token) {
    if (res.json.error === "invalid_grant") throw new CliError(`your sign-in to ${url} has ended (revoked, expired or idle); run \`gatehouse login --url ${url}\``);
    throw new CliError(`refreshing the sign-in to ${url} was refused (${res.status}): ${res.json.error_description ?? res.json.error ?? ""}`);
  }
  const next = res.json.refresh_token;
  if (next && next !== stored.refresh_token) {
    await updateCredentials((file) => {
      const entry = file.logins[url];
      if (entry) file.logins[url] = { ...entry, refresh_token: next, ...(res.json.scope ? { scope: res.json.scope } : {}), saved_at: new Date().toISOString() };
    });
  }
  cache.set(url, { token: res.json.access_token, expiresAt: Date.now() + (res.json.expires_in ?? 60) * 1000 });
  return res.json.access_token;
}

/** The URL of the latest login, the default when neither --url nor GATEHOUSE_URL is given. */
export async function currentUrl(): Promise<string | undefined> {
  return (await readCredentials().catch(() => undefined))?.current;
}
