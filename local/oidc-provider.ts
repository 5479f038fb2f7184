import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import Provider, { interactionPolicy, type Account, type Adapter, type AdapterPayload, type KoaContextWithOIDC } from "oidc-provider";

/**
 * A real OpenID Connect provider (npm `oidc-provider`) on 127.0.0.1, standing in for a company's identity provider:
 * `npm run dev:deployed` signs the demo users in through it, and the e2e suites test the upstream sign-in with it.
 * One confidential client (client_secret_basic) and the given accounts. Its login and consent prompts are two
 * plain HTML forms (no JavaScript), so a test can drive them with fetch:
 *
 *   GET  /interaction/:uid          → a login form (posts `login`, `password`) or a consent form (posts nothing)
 *   POST /interaction/:uid/login    → finishes the login prompt
 *   POST /interaction/:uid/confirm  → finishes the consent prompt (grants what was asked)
 *
 * Claims follow OIDC Core §5.4 (oidc-provider's default): with a code flow they come from UserInfo, not the ID
 * token, so the Worker's UserInfo path is exercised too. State is in memory: a restart signs everyone out.
 */
export interface OidcAccount {
  email: string;
  email_verified: boolean;
  name: string;
  groups: string[];
  password: string;
}

export interface OidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  stop(): Promise<void>;
}

/** The provider's state, in memory for this one process (its own default adapter says so loudly on every start). */
function memoryAdapter(): (name: string) => Adapter {
  const store = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const live = (key: string) => {
    const e = store.get(key);
    if (e && e.expiresAt <= Date.now()) store.delete(key);
    return store.get(key)?.payload;
  };
  return (name) => ({
    async upsert(id, payload, expiresIn) {
      store.set(`${name}:${id}`, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    },
    async find(id) {
      return live(`${name}:${id}`);
    },
    async findByUid(uid) {
      for (const [key, e] of store) if (key.startsWith(`${name}:`) && e.payload.uid === uid) return live(key);
      return undefined;
    },
    async findByUserCode(userCode) {
      for (const [key, e] of store) if (key.startsWith(`${name}:`) && e.payload.userCode === userCode) return live(key);
      return undefined;
    },
    async consume(id) {
      const e = store.get(`${name}:${id}`);
      if (e) e.payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) {
      store.delete(`${name}:${id}`);
    },
    async revokeByGrantId(grantId) {
      for (const [key, e] of store) if (e.payload.grantId === grantId) store.delete(key);
    },
  });
}

/** The default prompts, with the login prompt also required whenever this interaction has not logged in yet. */
function everyTimeLoginPolicy(): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  policy.get("login")!.checks.add(new interactionPolicy.Check("every_time", "sign in on every authorization request", (ctx) => !ctx.oidc.result?.login));
  return policy;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/**
 * `accounts` is keyed by the login name typed into the form (the account id, `sub`). With `loginEveryTime` the
 * provider asks for the password on every authorization request instead of reusing its session, so one browser can
 * sign in as several demo users in turn.
 */
export async function startOidcProvider(opts: {
  port: number;
  redirectUri: string;
  accounts: Record<string, OidcAccount>;
  title?: string;
  clientId?: string;
  loginEveryTime?: boolean;
}): Promise<OidcProvider> {
  const issuer = `http://127.0.0.1:${opts.port}`;
  const clientId = opts.clientId ?? "gatehouse-test";
  const title = opts.title ?? "Test IdP";
  const accounts = opts.accounts;
  const clientSecret = randomBytes(24).toString("base64url");
  const signingKey = { ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }), kid: "test-rs256", alg: "RS256", use: "sig" };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri],
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    adapter: memoryAdapter(),
    jwks: { keys: [signingKey] },
    // Explicit lifetimes (the defaults work but log a notice each).
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 300, IdToken: 300, AuthorizationCode: 60 },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
    scopes: ["openid", "email", "profile", "groups"],
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}`, ...(opts.loginEveryTime ? { policy: everyTimeLoginPolicy() } : {}) },
    async findAccount(_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> {
      const account = accounts[sub];
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, email: account.email, email_verified: account.email_verified, name: account.name, groups: account.groups };
        },
      };
    },
  });

  const callback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error("interaction mismatch");
    const html = (status: number, body: string) => {
      res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
      res.end(body);
    };
    if (req.method === "GET" && action === undefined) {
      if (details.prompt.name === "login") {
        return html(
          200,
          page(
            `${title} sign-in`,
            `<form method="post" action="/interaction/${escapeHtml(uid)}/login"><p><label>Email <input name="login" autocomplete="username" autofocus></label></p><p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p><button type="submit">Sign in</button></form>`,
          ),
        );
      }
      return html(
        200,
        page(
          `${title} consent`,
          `<p>Share your email, name and groups with Gatehouse?</p><form method="post" action="/interaction/${escapeHtml(uid)}/confirm"><button type="submit">Continue</button></form>`,
        ),
      );
    }
    if (req.method === "POST" && action === "login" && details.prompt.name === "login") {
      const form = await readForm(req);
      const login = form.get("login") ?? "";
      const account = accounts[login];
      if (!account || account.password !== form.get("password")) return html(401, page(`${title} sign-in`, "<p>Wrong user or password. Go back and try again.</p>"));
      return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    }
    if (req.method === "POST" && action === "confirm" && details.prompt.name === "consent") {
      const { prompt, params, session, grantId } = details;
      const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session!.accountId, clientId: params.client_id as string });
      if (!grant) throw new Error("grant not found");
      const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const saved = await grant.save();
      return provider.interactionFinished(req, res, { consent: grantId ? {} : { grantId: saved } }, { mergeWithLastSubmission: true });
    }
    html(400, page(title, "<p>Unexpected interaction step.</p>"));
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", issuer).pathname;
    const m = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/.exec(path);
    if (!m) return void callback(req, res);
    interaction(req, res, m[1]!, m[2]).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(e instanceof Error ? e.message : "error");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: opts.port }, () => resolve());
  });
  return {
    issuer,
    clientId,
    clientSecret,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
