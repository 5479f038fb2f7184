import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { uniqueClientIp } from "./client-ip";

/** A user at the browser: signs in with the dev login and answers the consent form by plain form posts. */
export interface BrowserUser {
  email: string;
  /** Scopes to tick on the consent page; default: whatever the page preselects. */
  scopes?: string[];
  decision?: "allow" | "deny";
}

function hidden(html: string, name: string): string | undefined {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
}

function checkedScopes(html: string): string[] {
  return [...html.matchAll(/<input type="checkbox" name="scope" value="([^"]+)"( checked="")?/g)].filter((m) => m[2]).map((m) => m[1]!);
}

export interface ConsentTrace {
  loginStatus: number;
  consentHtml: string;
  location: string;
}

/** Walks /authorize → dev login → consent with fetch and returns the final redirect (with code or error). */
export async function signInThroughBrowser(authorizationUrl: URL, user: BrowserUser): Promise<ConsentTrace> {
  const origin = authorizationUrl.origin;
  const page = await fetch(authorizationUrl, { redirect: "manual" });
  if (page.status === 302) return { loginStatus: 302, consentHtml: "", location: page.headers.get("location")! };
  const loginHtml = await page.text();
  if (page.status !== 200) throw new Error(`authorize page answered ${page.status}: ${loginHtml.slice(0, 300)}`);
  const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0]!;
  const request = hidden(loginHtml, "request")!;
  const csrf = hidden(loginHtml, "csrf")!;
  const post = (path: string, form: URLSearchParams) =>
    fetch(`${origin}${path}`, { method: "POST", redirect: "manual", headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" }, body: form });
  const login = await post("/authorize/login", new URLSearchParams({ request, csrf, email: user.email }));
  if (login.status === 302) return { loginStatus: 302, consentHtml: "", location: login.headers.get("location")! };
  const consentHtml = await login.text();
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${consentHtml.slice(0, 300)}`);
  const form = new URLSearchParams({ request, csrf, decision: user.decision ?? "allow", workspace: hidden(consentHtml, "workspace") ?? "demo" });
  for (const s of user.scopes ?? checkedScopes(consentHtml)) form.append("scope", s);
  const consent = await post("/authorize/consent", form);
  if (consent.status !== 302) throw new Error(`consent answered ${consent.status}: ${(await consent.text()).slice(0, 300)}`);
  return { loginStatus: login.status, consentHtml, location: consent.headers.get("location")! };
}

/**
 * An in-memory OAuthClientProvider for the MCP SDK client, registering as a public client with a loopback
 * redirect, the way desktop clients do. `redirectToAuthorization` plays the user.
 */
export class TestOAuthProvider implements OAuthClientProvider {
  /** The address this client acts from (per-IP limits; see client-ip.ts): its transports use `fetchFromIp(ip)`. */
  readonly ip = uniqueClientIp();
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  lastCode: string | undefined;
  lastRedirect: URL | undefined;
  lastConsentHtml = "";
  authorizations = 0;

  constructor(
    private readonly user: BrowserUser,
    readonly redirectUrl = "http://127.0.0.1:33418/callback",
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: "Gatehouse e2e", redirect_uris: [this.redirectUrl], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations++;
    const trace = await signInThroughBrowser(url, this.user);
    this.lastConsentHtml = trace.consentHtml;
    this.lastRedirect = new URL(trace.location);
    this.lastCode = this.lastRedirect.searchParams.get("code") ?? undefined;
  }
}
