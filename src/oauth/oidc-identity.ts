/**
 * Who an upstream OpenID Connect user is, from claims that oauth4webapi has already validated (docs/security.md):
 * the verified email becomes the principal (`user:<email>`), the groups claim becomes IdP groups. Pure.
 */

/** Groups carried into access tokens, whose size is capped (MAX_TOKEN_BYTES): at most 20 names of 64 characters. */
export const OIDC_GROUP_LIMITS = { count: 20, length: 64 } as const;

export const DEFAULT_GROUPS_CLAIM = "groups";

export type UpstreamIdentity = { ok: true; email: string; groups: string[]; groupsDropped: number } | { ok: false; reason: IdentityFailure };

export type IdentityFailure = "email_missing" | "email_invalid" | "email_not_verified";

type Claims = Readonly<Record<string, unknown>>;

// One address, no whitespace or control characters, one "@" with something on both sides (RFC 5321 length).
const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,252}$/u;
const GROUP = /^[^\p{Cc}]+$/u;

/**
 * The email and `email_verified` must come from the same claims set: the ID token's when it carries an email,
 * else UserInfo's (oauth4webapi has checked that UserInfo's `sub` is the ID token's). Only
 * `email_verified === true` counts: a missing flag or the string "true" is not a verification.
 */
export function emailFromClaims(idToken: Claims, userinfo?: Claims): { ok: true; email: string } | { ok: false; reason: IdentityFailure } {
  const source = idToken.email !== undefined ? idToken : userinfo;
  const email = source?.email;
  if (email === undefined || email === null || email === "") return { ok: false, reason: "email_missing" };
  if (typeof email !== "string" || email.length > 254 || !EMAIL.test(email)) return { ok: false, reason: "email_invalid" };
  if (source?.email_verified !== true) return { ok: false, reason: "email_not_verified" };
  return { ok: true, email: email.toLowerCase() };
}

/**
 * IdP groups from the configured claim (an array of strings; anything else means no groups). Names the policy
 * knows come first, so the cap never drops a group that grants something in favour of one that does not;
 * duplicates, empty, over-long and control-character names are dropped.
 */
export function groupsFromClaim(value: unknown, known: ReadonlySet<string> = new Set()): { groups: string[]; dropped: number } {
  if (!Array.isArray(value)) return { groups: [], dropped: 0 };
  const valid: string[] = [];
  const seen = new Set<string>();
  for (const g of value) {
    if (typeof g !== "string" || g.length === 0 || g.length > OIDC_GROUP_LIMITS.length || !GROUP.test(g) || seen.has(g)) continue;
    seen.add(g);
    valid.push(g);
  }
  const ordered = [...valid.filter((g) => known.has(g)), ...valid.filter((g) => !known.has(g))];
  const groups = ordered.slice(0, OIDC_GROUP_LIMITS.count);
  return { groups, dropped: value.length - groups.length };
}

/** The groups claim is read from the ID token when it carries it, else from UserInfo. */
export function identityFromClaims(idToken: Claims, userinfo: Claims | undefined, opts: { groupsClaim?: string | undefined; knownGroups?: ReadonlySet<string> } = {}): UpstreamIdentity {
  const email = emailFromClaims(idToken, userinfo);
  if (!email.ok) return email;
  const claim = opts.groupsClaim || DEFAULT_GROUPS_CLAIM;
  const raw = Object.hasOwn(idToken, claim) ? idToken[claim] : userinfo && Object.hasOwn(userinfo, claim) ? userinfo[claim] : undefined;
  const { groups, dropped } = groupsFromClaim(raw, opts.knownGroups);
  return { ok: true, email: email.email, groups, groupsDropped: dropped };
}

/** Scopes asked of the upstream: `openid email profile`, plus `groups` when a groups claim is configured. */
export function upstreamScope(groupsClaim: string | undefined): string {
  return groupsClaim ? "openid email profile groups" : "openid email profile";
}
