import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { ORIGIN, freshIp, get, hidden, postForm } from "./oauth-helpers";

/** One cookie of a response's Set-Cookie headers (with its attributes). */
export const cookieOf = (res: Response, name: string) =>
  (res.headers.get("set-cookie") ?? "")
    .split(/,(?=\s*\w+=)/)
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${name}=`));

/**
 * The console's sign-in up to the callback: `returnTo` without a session redirects to /console/login, which starts
 * the console's own authorization-code request; the dev login as `email` and consent to `scopes` come back with
 * the callback URL and the browser's login cookie.
 */
export async function consoleSignIn(email: string, scopes: string[], returnTo = "/console/approvals/abc123") {
  const start = await get(returnTo);
  expect(start.status).toBe(302);
  expect(start.headers.get("location")).toBe(`/console/login?return_to=${encodeURIComponent(returnTo)}`);
  const login = await get(start.headers.get("location")!);
  expect(login.status).toBe(302);
  const loginCookie = cookieOf(login, "gh_console_login")!;
  expect(loginCookie).toMatch(/HttpOnly/i);
  expect(loginCookie).toMatch(/SameSite=Lax/i);
  const authorize = new URL(login.headers.get("location")!);
  expect(authorize.pathname).toBe("/authorize");
  expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
    client_id: "gatehouse-console",
    redirect_uri: `${ORIGIN}/console/callback`,
    code_challenge_method: "S256",
    scope: "gatehouse:approve gatehouse:admin",
    response_type: "code",
  });
  const page = await SELF.fetch(authorize.href, { redirect: "manual", headers: { "cf-connecting-ip": freshIp() } });
  const html = await page.text();
  const authz = cookieOf(page, "gh_authz")!.split(";")[0]!;
  const form = { request: hidden(html, "request")!, csrf: hidden(html, "csrf")! };
  const consent = await postForm("/authorize/login", { ...form, email }, { Cookie: authz });
  expect(consent.status).toBe(200);
  await consent.body?.cancel();
  const pairs: Array<[string, string]> = [["request", form.request], ["csrf", form.csrf], ["workspace", "demo"], ...scopes.map((s): [string, string] => ["scope", s]), ["decision", "allow"]];
  const back = await postForm("/authorize/consent", pairs, { Cookie: authz });
  expect(back.status).toBe(302);
  const callback = new URL(back.headers.get("location")!);
  return { callback, loginCookie: loginCookie.split(";")[0]! };
}

/** A signed-in console session's cookie ("gh_console=…"), for `email` with `scopes`. */
export async function consoleCookie(email: string, scopes: string[], returnTo = "/console"): Promise<string> {
  const { callback, loginCookie } = await consoleSignIn(email, scopes, returnTo);
  return cookieOf(await get(callback.pathname + callback.search, { Cookie: loginCookie }), "gh_console")!.split(";")[0]!;
}
