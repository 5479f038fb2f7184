import { describe, expect, it } from "vitest";
import { checkRedirectUri, matchRedirectUri } from "../../../src/oauth/redirect-uri";

describe("checkRedirectUri (what a public client may register)", () => {
  it.each([
    "https://claude.ai/api/mcp/auth_callback",
    "https://chatgpt.com/connector_platform_oauth_redirect",
    "https://app.example",
    "https://app.example/",
    "https://app.example:8443/cb",
    "https://app.example/cb?tenant=1",
    "https://app.example/CaseKept",
    "https://xn--bcher-kva.example/cb",
    "http://127.0.0.1/cb",
    "http://127.0.0.1:33418/callback",
    "http://127.1.2.3:9/cb",
    "http://localhost:3000/cb",
    "http://[::1]:8080/cb",
    // RFC 8252 §7.1 private-use schemes: Cursor's, and a reverse-domain one.
    "cursor://anysphere.cursor-mcp/oauth/callback",
    "com.example.app:/oauth2redirect",
    "vscode://vscode.github-authentication/did-authenticate",
  ])("accepts %j as is", (uri) => {
    expect(checkRedirectUri(uri)).toEqual({ ok: true, uri });
  });

  it.each<[string, unknown, RegExp]>([
    ["javascript:", "javascript:alert(1)", /scheme/],
    ["data:", "data:text/html,hi", /scheme/],
    ["file:", "file:///etc/passwd", /scheme/],
    ["vbscript:", "vbscript:msgbox(1)", /scheme/],
    ["blob:", "blob:https://app.example/1", /scheme/],
    ["a scheme without a host or domain", "myapp:callback", /scheme/],
    ["a scheme with an empty authority", "myapp:///callback", /scheme/],
    ["ws:", "ws://app.example/cb", /scheme/],
    ["a browser-internal scheme", "chrome://settings/", /scheme/],
    ["a private-use scheme with a fragment", "cursor://anysphere.cursor-mcp/cb#x", /fragment/],
    ["a private-use scheme with userinfo", "cursor://u@anysphere.cursor-mcp/cb", /userinfo/],
    ["an uppercase private-use scheme", "CURSOR://anysphere.cursor-mcp/cb", /canonical/],
    ["a private-use wildcard", "cursor://*.cursor-mcp/cb", /wildcard/],
    // OS and browser handlers reachable with a host or a dot (found by review): never a client's redirect.
    ["ms-msdt with a host", "ms-msdt://x/id", /scheme/],
    ["search-ms with a host", "search-ms://x?query=a", /scheme/],
    ["ms-officecmd", "ms-officecmd://x/", /scheme/],
    ["smb", "smb://evil.example/share", /scheme/],
    ["itms-services", "itms-services://x?action=download-manifest", /scheme/],
    ["microsoft-edge", "microsoft-edge://x/", /scheme/],
    ["web+ scheme", "web+evil://x/", /scheme/],
    ["devtools", "devtools://devtools/", /scheme/],
    ["x-apple handler", "x-apple.systempreferences:com.apple.preference", /scheme/],
    ["vnd. scheme", "vnd.ms.radio:x", /scheme/],
    ["a known app scheme without a host", "cursor:callback", /scheme/],
    ["http off loopback", "http://app.example/cb", /scheme/],
    ["http on a 127-prefixed name", "http://127.0.0.1.nip.io/cb", /scheme/],
    ["http on localhost.<evil>", "http://localhost.evil.com/cb", /scheme/],
    ["a wildcard host", "https://*.evil.com/cb", /wildcard/],
    ["a wildcard path", "https://app.example/cb/*", /wildcard/],
    ["a fragment", "https://app.example/cb#x", /fragment/],
    ["an empty fragment", "https://app.example/cb#", /fragment/],
    ["userinfo", "https://u:p@app.example/cb", /userinfo/],
    ["a user only", "https://app.example@evil.com/cb", /userinfo/],
    ["an uppercase scheme", "HTTPS://app.example/cb", /canonical/],
    ["an uppercase host", "https://Example.com/cb", /canonical/],
    ["uppercase scheme and host", "HTTPS://Example.com/cb", /canonical/],
    ["a default port", "https://app.example:443/cb", /canonical/],
    ["dot segments", "https://app.example/a/../cb", /canonical/],
    ["a percent-encoded host", "https://app.ex%61mple/cb", /canonical/],
    ["a percent-encoded dot", "https://app%2eexample/cb", /canonical/],
    ["loopback in hex", "http://0x7f000001/cb", /canonical/],
    ["loopback in short form", "http://127.1/cb", /canonical/],
    ["a Cyrillic look-alike host", "https://app.ex\u0430mple/cb", /canonical/],
    ["an ideographic full stop", "https://app\u3002example/cb", /canonical/],
    ["a soft hyphen", "https://app.exam\u00adple/cb", /canonical/],
    ["a scheme without slashes", "https:app.example/cb", /canonical/],
    ["a scheme-relative URL", "//app.example/cb", /absolute/],
    ["a relative path", "/cb", /absolute/],
    ["leading space", " https://app.example/cb", /whitespace/],
    ["trailing space", "https://app.example/cb ", /whitespace/],
    ["a tab", "https://app.example/\tcb", /whitespace/],
    ["a newline", "https://app.example/cb\n", /whitespace/],
    ["a carriage return", "https://app.example/cb\r", /whitespace/],
    ["NUL", "https://app.example/cb\u0000", /whitespace/],
    ["DEL", "https://app.example/cb\u007f", /whitespace/],
    ["a C1 control", "https://app.example/cb\u0085", /whitespace/],
    ["a no-break space", "https://app.example/cb\u00a0", /whitespace/],
    ["a line separator", "https://app.example/cb\u2028", /whitespace/],
    ["a paragraph separator", "https://app.example/cb\u2029", /whitespace/],
    ["a backslash", "https://app.example\\@evil.com/cb", /whitespace|control/],
    ["the empty string", "", /length/],
    ["over 2000 characters", `https://app.example/${"a".repeat(2000)}`, /length/],
    ["a number", 42, /string/],
    ["null", null, /string/],
    ["an object", { href: "https://app.example/cb" }, /string/],
  ])("refuses %s", (_name, uri, reason) => {
    const r = checkRedirectUri(uri);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe("matchRedirectUri (exact, loopback: any port)", () => {
  const https = ["https://app.example/cb"];
  const loop = ["http://127.0.0.1:33418/callback"];

  it.each<[string, boolean, string, readonly string[]]>([
    ["the exact https URI", true, "https://app.example/cb", https],
    ["one of several registered", true, "https://app.example/b", ["https://app.example/a", "https://app.example/b"]],
    ["another https host", false, "https://evil.example/cb", https],
    ["another https port", false, "https://app.example:8443/cb", https],
    ["another https path", false, "https://app.example/cb2", https],
    ["a trailing slash", false, "https://app.example/cb/", https],
    ["an added query", false, "https://app.example/cb?x=1", https],
    ["a case variant", false, "https://APP.example/cb", https],
    ["http for a registered https", false, "http://app.example/cb", https],
    ["the exact loopback URI", true, "http://127.0.0.1:33418/callback", loop],
    ["loopback on another port", true, "http://127.0.0.1:50000/callback", loop],
    ["loopback without a port", true, "http://127.0.0.1/callback", loop],
    ["loopback with another path", false, "http://127.0.0.1:50000/other", loop],
    ["loopback with an added query", false, "http://127.0.0.1:50000/callback?x=1", loop],
    ["another loopback name", false, "http://localhost:33418/callback", loop],
    ["another loopback address", false, "http://127.0.0.2:33418/callback", loop],
    ["https on the loopback address", false, "https://127.0.0.1:33418/callback", loop],
    ["a non-canonical loopback form", false, "http://127.0.0.1:050000/callback", loop],
    ["a hex loopback form", false, "http://0x7f000001:50000/callback", loop],
    ["a non-loopback host with a registered https port change", false, "https://app.example:1/cb", https],
    ["garbage", false, "not a url", loop],
    ["the empty string", false, "", loop],
  ])("%s → %s", (_name, ok, requested, registered) => {
    expect(matchRedirectUri(requested, registered)).toBe(ok);
  });

  // Was a bug (fixed): src/oauth/redirect-uri.ts:42-45 — the loopback branch ignores userinfo and the fragment, so these match
  // the registered "http://127.0.0.1:33418/callback" though only the port may differ. Fix: also require
  // `!req.username && !req.password && !req.hash`.
  it.each([
    ["userinfo", "http://evil@127.0.0.1:50000/callback"],
    ["user and password", "http://a:b@127.0.0.1:50000/callback"],
    ["a fragment", "http://127.0.0.1:50000/callback#frag"],
  ])("refuses a loopback URI that also differs by %s", (_name, requested) => {
    expect(matchRedirectUri(requested, loop)).toBe(false);
  });
});
