/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import type { ScopeOption } from "./authorize-request";

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}fieldset{border:1px solid #ccd;border-radius:8px;margin:1rem 0;padding:.5rem 1rem}
button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #345;background:#f4f6f8;cursor:pointer;margin:.25rem .25rem .25rem 0}
button.primary{background:#1f4fd1;color:#fff;border-color:#1f4fd1}.muted{color:#5a6270;font-size:.9rem}code{background:#f1f3f5;padding:0 .25rem}
.host{border:2px solid #1f4fd1;border-radius:8px;padding:.5rem 1rem;background:#f4f7ff}`;

function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {/* Our forms must state our origin (a no-referrer page posts "Origin: null"); see src/http/page-headers.ts. */}
        <meta name="referrer" content="same-origin" />
        <title>{props.title} · Gatehouse</title>
        <style>{STYLE}</style>
      </head>
      <body>{props.children}</body>
    </html>
  );
}

export function ErrorPage(props: { message: string }) {
  return (
    <Layout title="Sign-in problem">
      <h1>Sign-in problem</h1>
      <p>{props.message}</p>
    </Layout>
  );
}

/**
 * The host that served a metadata-document client's details (oauth/cimd.ts), shown prominently: it is the one
 * thing about the client that Gatehouse verified, while the name is the client's own claim.
 */
function DocumentHost(props: { host: string }) {
  return (
    <p class="host" data-client-host={props.host}>
      App published by <strong>{props.host}</strong>
      <br />
      <span class="muted">
        Gatehouse read this app's details from {props.host}. The app's name is its own claim: continue only if you expect an app from {props.host}.
      </span>
    </p>
  );
}

export interface LoginPageProps {
  clientName: string;
  /** Set for a metadata-document client: the document's host. */
  clientHost: string | null;
  redirectHost: string;
  requestId: string;
  csrf: string;
  devUsers: Array<{ email: string; name: string | null }>;
  oidcLabel: string | null;
}

/** Sign-in: an upstream OpenID Connect provider and, on a loopback issuer only, the dev login. No JavaScript. */
export function LoginPage(p: LoginPageProps) {
  return (
    <Layout title="Sign in">
      <h1>Sign in to Gatehouse</h1>
      <p>
        <strong>{p.clientName}</strong> (<code>{p.redirectHost}</code>) wants to use database tools on your behalf.
      </p>
      {p.clientHost !== null && <DocumentHost host={p.clientHost} />}
      {p.oidcLabel !== null && (
        <form method="post" action="/authorize/oidc">
          <input type="hidden" name="request" value={p.requestId} />
          <input type="hidden" name="csrf" value={p.csrf} />
          <button class="primary" type="submit">
            Sign in with {p.oidcLabel}
          </button>
        </form>
      )}
      {p.devUsers.length > 0 && (
        <form method="post" action="/authorize/login">
          <input type="hidden" name="request" value={p.requestId} />
          <input type="hidden" name="csrf" value={p.csrf} />
          <fieldset>
            <legend>Dev login (local only)</legend>
            {p.devUsers.map((u) => (
              <button type="submit" name="email" value={u.email}>
                {u.name ?? u.email} <span class="muted">{u.email}</span>
              </button>
            ))}
          </fieldset>
        </form>
      )}
      {p.oidcLabel === null && p.devUsers.length === 0 && <p>No sign-in method is configured.</p>}
    </Layout>
  );
}

export interface ConsentPageProps {
  clientName: string;
  /** Set for a metadata-document client: the document's host. */
  clientHost: string | null;
  redirectHost: string;
  email: string;
  requestId: string;
  csrf: string;
  workspaces: string[];
  options: Array<ScopeOption & { tools: string[] }>;
}

const LABELS: Record<string, string> = {
  "db:read": "Read: run named reporting tools (read-only)",
  "db:sql": "SQL: run guarded read-only SQL",
  "db:write": "Write: request changes (each one approved by a person)",
  "gatehouse:admin": "Administer Gatehouse (revocation, task clients)",
  "gatehouse:approve": "Approve or deny write requests for your approver groups",
};

/** Consent: the user may grant less than asked; only the least privileged choice is preselected. */
export function ConsentPage(p: ConsentPageProps) {
  return (
    <Layout title="Allow access">
      <h1>
        Allow {p.clientName}
        {p.clientHost !== null && <> from {p.clientHost}</>}?
      </h1>
      {p.clientHost !== null && <DocumentHost host={p.clientHost} />}
      <p>
        Signed in as <strong>{p.email}</strong>. After you allow it, <code>{p.redirectHost}</code> receives short-lived tokens limited to what you choose here.
      </p>
      <form method="post" action="/authorize/consent">
        <input type="hidden" name="request" value={p.requestId} />
        <input type="hidden" name="csrf" value={p.csrf} />
        {p.workspaces.length > 1 ? (
          <fieldset>
            <legend>Workspace</legend>
            {p.workspaces.map((w, i) => (
              <label>
                <input type="radio" name="workspace" value={w} checked={i === 0} /> {w}
                <br />
              </label>
            ))}
          </fieldset>
        ) : (
          <input type="hidden" name="workspace" value={p.workspaces[0] ?? ""} />
        )}
        <fieldset>
          <legend>Access</legend>
          {p.options.map((o) => (
            <label>
              <input type="checkbox" name="scope" value={o.scope} checked={o.checked} /> {LABELS[o.scope] ?? o.scope}
              {o.tools.length > 0 && <span class="muted"> — {o.tools.join(", ")}</span>}
              <br />
            </label>
          ))}
        </fieldset>
        <button class="primary" type="submit" name="decision" value="allow">
          Allow
        </button>
        <button type="submit" name="decision" value="deny">
          Deny
        </button>
      </form>
    </Layout>
  );
}
