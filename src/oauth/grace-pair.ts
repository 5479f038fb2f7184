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

export async function sealPair(refreshToken: string, pair: TokenPair): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await keyFor(refreshToken), new TextEncoder().encode(JSON.stringify(pair))));
  return `${b64(iv)}.${b64(ct)}`;
}

export async function openPair(refreshToken: string, sealed: string): Promise<TokenPair | undefined> {
  const [iv, ct] = sealed.split(".");
  if (!iv || !ct) return undefined;
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(iv) }, await keyFor(refreshToken), unb64(ct));
    return JSON.parse(new TextDecoder().decode(plain)) as TokenPair;
  } catch {
    return undefined;
  }
}
