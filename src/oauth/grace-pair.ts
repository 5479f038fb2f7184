import { clientIpKey } from "../http/client-ip";
/**
 * The token pair a rotated refresh token was exchanged for, sealed under a key derived from that refresh token
 * (AES-GCM, key = SHA-256 of a label and the token). Only a caller holding the old token can open it, so a benign
 * duplicate refresh within the grace window gets the same pair without D1 ever holding a usable token.
 */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  scope: string;
}

async function keyFor(refreshToken: string): Promise<CryptoKey> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`gatehouse refresh grace\u0000${refreshToken}`));
  return crypto.subtle.importKey("raw", digest, "AES-GCM", false, ["encrypt", "decrypt"]);
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/**
 * Who rotated the token: SHA-256 of the user agent and of the client's network (its IPv4 address, or its IPv6
 * /64, as the per-IP limits count it). A duplicate refresh gets the sealed pair only from the same client
 * (checked by the caller), the same user agent AND the same network: the user agent alone is the caller's own
 * choice and easy to copy. A thief replaying a just-rotated token from elsewhere is treated as reuse
 * (RFC 9700 §4.14.2).
 */
export interface GraceBinding {
  ua: string | null;
  ip: string | null;
}

async function digest(value: string | undefined): Promise<string | null> {
  if (!value) return null;
  return b64(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))));
}

export async function graceBinding(userAgent: string | undefined, ip: string | undefined): Promise<GraceBinding> {
  return { ua: await digest(userAgent), ip: await digest(clientIpKey(ip)) };
}

/** Same user agent (an absent one matches only an absent one) and same network (on Cloudflare every request has an IP). */
export function sameRequester(a: GraceBinding, b: GraceBinding): boolean {
  return a.ua === b.ua && a.ip === b.ip;
}

export async function sealPair(refreshToken: string, pair: TokenPair, binding: GraceBinding): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify({ pair, binding }));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await keyFor(refreshToken), plain));
  return `${b64(iv)}.${b64(ct)}`;
}

export async function openPair(refreshToken: string, sealed: string): Promise<{ pair: TokenPair; binding: GraceBinding } | undefined> {
  const [iv, ct] = sealed.split(".");
  if (!iv || !ct) return undefined;
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(iv) }, await keyFor(refreshToken), unb64(ct));
    const opened = JSON.parse(new TextDecoder().decode(plain)) as { pair?: TokenPair; binding?: GraceBinding };
    if (!opened.pair || !opened.binding) return undefined;
    return { pair: opened.pair, binding: opened.binding };
  } catch {
    return undefined;
  }
}
