// Node preload (`NODE_OPTIONS="--import <this file>"`) for `npm run dev:deployed`: resolves `*.localhost` names to
// 127.0.0.1, as RFC 6761 §6.3 asks of name resolution libraries and as Chromium and Firefox already do. Node asks
// the OS (getaddrinfo), and many systems (Debian without systemd-resolved, macOS) answer ENOTFOUND for
// `gatehouse.localhost`. Every other name resolves as before. Alternative: a line `127.0.0.1 gatehouse.localhost`
// in /etc/hosts.
import dns from "node:dns";

const lookup = dns.lookup;
dns.lookup = function (hostname, ...rest) {
  return lookup.call(this, typeof hostname === "string" && /\.localhost\.?$/i.test(hostname) ? "127.0.0.1" : hostname, ...rest);
};
