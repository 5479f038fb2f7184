/**
 * Gatehouse limits registrations and sign-ins per client IP (`cf-connecting-ip`, which only Cloudflare's edge sets).
 * Locally no request has one, so every test would share one "unknown" budget of 10 registrations a minute and fail
 * by chance when several suites register in the same minute. Each registering test acts from its own address, as
 * real clients do. Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking) and are never contacted.
 */
let next = 1;

export function uniqueClientIp(): string {
  const n = next++;
  return `198.19.${(n >> 8) & 255}.${n & 255}`;
}

/** A fetch that acts from `ip`: for SDK transports (`fetch` option) and the test's own requests. */
export function fetchFromIp(ip: string = uniqueClientIp()): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set("cf-connecting-ip", ip);
    return fetch(input, { ...init, headers });
  };
}
