/**
 * The first-run bootstrap secret (docs/deployment.md). Pure: no I/O.
 *
 * Shorter secrets are refused outright rather than compared: the endpoint is public until the first policy exists,
 * so the secret alone stands between the internet and the first admin.
 */
export const MIN_BOOTSTRAP_TOKEN_LENGTH = 32;

export type BootstrapTokenCheck = "ok" | "not_configured" | "mismatch";

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * Compares the presented token with the configured one through their SHA-256 digests, byte by byte without an
 * early exit: the time taken depends on neither the secret's length nor where the first difference is.
 */
export async function checkBootstrapToken(configured: string | undefined, presented: string | undefined): Promise<BootstrapTokenCheck> {
  if (configured === undefined || configured.length < MIN_BOOTSTRAP_TOKEN_LENGTH) return "not_configured";
  const [a, b] = await Promise.all([digest(configured), digest(presented ?? "")]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0 && presented !== undefined ? "ok" : "mismatch";
}

/** The bearer value of an `Authorization: Bearer …` header (RFC 6750 §2.1), if that is what was sent. */
export function bearerValue(header: string | undefined): string | undefined {
  const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(header ?? "");
  return m?.[1];
}
