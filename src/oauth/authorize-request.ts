import { isS256Challenge } from "./pkce";
import { matchRedirectUri } from "./redirect-uri";
import { ADMIN_SCOPE, APPROVE_SCOPE, TIERS, TIER_SCOPE, type Tier } from "../policy/tiers";
import { utf8Length } from "../tools/utf8";

export interface AuthorizeParams {
  clientId: string;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  /** Requested scope as sent; empty when the client sent none (defaulted at consent, never a 400). */
  scope: string;
}

/**
 * Every error of the request itself is shown to the user on a page, never redirected. RFC 6749 §4.1.2.1 would
 * redirect those found after the redirect URI matched, but anyone can register an https or app-scheme redirect
 * URI, and redirecting before any user interaction would make /authorize an open redirector (RFC 9700 §4.11.2);
 * "some user consented to this client once" is no defence, since any user can consent to a client they
 * registered. Redirects carry only the outcome of a user's decision (code, or `access_denied`).
 */
export type AuthorizeCheck = { ok: true; params: AuthorizeParams } | { ok: false; show: string };

/** Longest `state` accepted (UTF-8 bytes). Clients send a random value or a short reference, far below this. */
export const MAX_STATE_BYTES = 512;

const KNOWN_SCOPES = new Set<string>([...TIERS.map((t) => TIER_SCOPE[t]), ADMIN_SCOPE, APPROVE_SCOPE]);

export function checkAuthorizeRequest(q: URLSearchParams, client: { client_id: string; redirect_uris: string[] } | null, resource: string): AuthorizeCheck {
  const clientId = q.get("client_id");
  if (!clientId || !client) return { ok: false, show: "Unknown client. Register the client again and retry." };
  const registered = client.redirect_uris;
  const requested = q.get("redirect_uri") ?? (registered.length === 1 ? registered[0]! : null);
  if (!requested || !matchRedirectUri(requested, registered)) return { ok: false, show: "The redirect URI does not match the one this client registered." };
  // The state is stored with the pending request and echoed to the client: bounded like every stored input, and
  // an oversized one is not echoed in the error either.
  const sentState = q.get("state");
  const state = sentState !== null && utf8Length(sentState) > MAX_STATE_BYTES ? null : sentState;
  const fail = (error: string, description: string): AuthorizeCheck => ({ ok: false, show: `The app's sign-in request was refused (${error}): ${description}` });
  for (const key of ["client_id", "redirect_uri", "state", "scope", "resource", "code_challenge", "code_challenge_method", "response_type"]) {
    if (q.getAll(key).length > 1) return fail("invalid_request", `Parameter ${key} is repeated.`);
  }
  if (sentState !== state) return fail("invalid_request", `state is limited to ${MAX_STATE_BYTES} bytes.`);
  if (q.get("response_type") !== "code") return fail("unsupported_response_type", "Only response_type=code is supported.");
  const challenge = q.get("code_challenge");
  if (!challenge || q.get("code_challenge_method") !== "S256" || !isS256Challenge(challenge)) return fail("invalid_request", "PKCE with code_challenge_method=S256 is required.");
  // RFC 8707 §2: this server protects exactly one resource, so an absent `resource` means that one. Claude.ai's
  // custom connectors, Claude Code and the Codex CLI send none; a `resource` that is present must be ours.
  const res = q.get("resource");
  if (res !== null && res !== resource) return fail("invalid_target", `resource must be ${resource}.`);
  const scope = (q.get("scope") ?? "").trim();
  if (scope.length > 200) return fail("invalid_scope", "The requested scope is too long.");
  // Unknown scope values are ignored (RFC 6749 §3.3 lets the server fully or partially ignore the request). A
  // request naming none of ours (`openid profile offline_access`, `mcp`, `claudeai`) is a request with no scope:
  // least privilege preselected, the rest offered on the consent page. `offline_access` asks for nothing extra:
  // every authorization-code grant already gets a rotating refresh token bound to the session's lifetime.
  const values = scope.split(/\s+/).filter(Boolean);
  return { ok: true, params: { clientId, redirectUri: requested, state, codeChallenge: challenge, scope: values.filter((v) => KNOWN_SCOPES.has(v)).join(" ") } };
}

export interface ScopeOption {
  scope: string;
  tier: Tier | "admin" | "approve";
  checked: boolean;
}

/**
 * The choices on the consent page: the tiers the user is granted in the workspace, narrowed to what the client
 * asked for (all of them when it asked for nothing), with only the least privileged preselected — read-only is the
 * default (docs/security.md).
 */
export function consentOptions(granted: ReadonlySet<Tier>, isAdmin: boolean, requestedScope: string, isApprover = false): ScopeOption[] {
  const requested = new Set(requestedScope.split(" ").filter(Boolean));
  const wanted = (s: string) => requested.size === 0 || requested.has(s);
  const options: ScopeOption[] = TIERS.filter((t) => granted.has(t) && wanted(TIER_SCOPE[t])).map((t) => ({ scope: TIER_SCOPE[t], tier: t, checked: false }));
  // The gateway's own scopes are offered only when asked for explicitly, and only to members of the right group.
  if (isAdmin && requested.has(ADMIN_SCOPE)) options.push({ scope: ADMIN_SCOPE, tier: "admin", checked: false });
  if (isApprover && requested.has(APPROVE_SCOPE)) options.push({ scope: APPROVE_SCOPE, tier: "approve", checked: false });
  // Only a data tier is ever preselected (the least privileged); the gateway's own scopes must be ticked.
  const first = options.find((o) => o.tier !== "admin" && o.tier !== "approve");
  if (first) first.checked = true;
  return options;
}
