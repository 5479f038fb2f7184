/** True when a URL's host is a loopback address (RFC 6761 `localhost`, 127.0.0.0/8, ::1). */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}
