/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { sameDigest } from "../oauth/secrets";
import { auditConsoleRefusal, consoleAuth, type ConsoleUser } from "./auth";
import { consolePageHeaders } from "./headers";
import { MessagePage } from "./pages";

export function page(c: Context<AppEnv>, status: 200 | 201 | 202 | 400 | 403 | 404 | 409 | 413 | 429, render: (nonce: string) => Parameters<Context<AppEnv>["html"]>[0]): Response | Promise<Response> {
  const nonce = consolePageHeaders(c);
  return c.html(render(nonce), status);
}

/**
 * Runs a console handler for a signed-in admin or approver. No session: a GET goes to sign-in (and comes back
 * here), a POST is refused. Signed in without either role: a 403 page, audited. A POST must carry the session's
 * CSRF token (checked before anything else is read).
 */
export async function signedIn(c: Context<AppEnv>, run: (user: ConsoleUser, form: FormData | null) => Promise<Response>): Promise<Response> {
  const auth = await consoleAuth(c);
  const post = c.req.method === "POST";
  if (!auth.ok && auth.kind === "sign_in") {
    if (!post) return c.redirect(`/console/login?return_to=${encodeURIComponent(auth.returnTo)}`, 302);
    await auditConsoleRefusal(c, "no_session");
    return page(c, 403, (n) => <MessagePage nonce={n} title="Signed out" message="Your console session has ended. Sign in again; nothing was changed." signIn />);
  }
  if (!auth.ok) {
    await auditConsoleRefusal(c, "not_admin_or_approver", { principal: auth.principal, workspace: auth.workspace });
    return forbidden(c);
  }
  let form: FormData | null = null;
  if (post) {
    form = await c.req.formData().catch(() => new FormData());
    if (!csrfOk(auth.user.csrf, form.get("csrf"))) {
      await auditConsoleRefusal(c, "csrf", { principal: auth.user.principal, workspace: auth.user.workspace });
      return page(c, 403, (n) => (
        <MessagePage
          nonce={n}
          user={auth.user}
          title="Form refused"
          message="This form was not issued to your console session (CSRF check failed). Reload the page and try again; nothing was changed."
        />
      ));
    }
  }
  return run(auth.user, form);
}

/** signedIn for admin pages: an approver without the admin role gets the audited 403. */
export function signedInAdmin(c: Context<AppEnv>, run: (user: ConsoleUser, form: FormData | null) => Promise<Response>): Promise<Response> {
  return signedIn(c, async (user, form) => {
    if (!user.roles.admin) {
      await auditConsoleRefusal(c, "not_admin", { principal: user.principal, workspace: user.workspace });
      return forbidden(c);
    }
    return run(user, form);
  });
}

function csrfOk(expected: string, sent: unknown): boolean {
  return typeof sent === "string" && sent.length === expected.length && sameDigest(sent, expected);
}

export function forbidden(c: Context<AppEnv>): Response | Promise<Response> {
  return page(c, 403, (n) => (
    <MessagePage nonce={n} title="Not allowed" message="The console is for Gatehouse admins and approvers. Your account is neither in this workspace; the attempt was recorded." />
  ));
}
