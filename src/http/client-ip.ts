/**
 * The key per-IP limits count under, from `cf-connecting-ip` (set by Cloudflare's edge; a client cannot choose
 * it there). An IPv4 address counts alone. An IPv6 address counts by its /64 prefix: one subscriber usually holds
 * a whole /64 (RFC 6177 suggests at least that much), so keying by full address would give one attacker 2^64
 * budgets. Without the header (local `wrangler dev`), every request shares the key "unknown".
 */
export function clientIpKey(header: string | null | undefined): string {
  const ip = (header ?? "").trim().toLowerCase();
  if (!ip) return "unknown";
  if (!ip.includes(":")) return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) ? ip : "invalid";
  const groups = expandIpv6(ip);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : "invalid";
}

/** The eight 16-bit groups of an IPv6 address (no zone id; an embedded IPv4 tail counts as two groups). */
function expandIpv6(ip: string): string[] | null {
  if (ip.length > 45 || !/^[0-9a-f:.]+$/.test(ip)) return null;
  let text = ip;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.some((x) => x > 255)) return null;
    text = `${text.slice(0, v4.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ""));
}
