import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

/**
 * `npm run token -- --user alice@example.com [--scope "db:read"] [--url http://127.0.0.1:8787]`
 * Prints an access token for a demo principal, minted by the running dev server's dev-only endpoint.
 */
const { values } = parseArgs({
  options: {
    user: { type: "string" },
    task: { type: "string" },
    scope: { type: "string" },
    workspace: { type: "string" },
    url: { type: "string", default: process.env.GATEHOUSE_URL ?? "http://127.0.0.1:8787" },
    json: { type: "boolean", default: false },
  },
});

if (!values.user && !values.task) {
  console.error('usage: npm run token -- --user <email> | --task <id> [--scope "db:read db:sql"] [--json]');
  process.exit(2);
}

const body = { ...(values.user ? { user: values.user } : { task: values.task }), ...(values.scope ? { scope: values.scope } : {}), ...(values.workspace ? { workspace: values.workspace } : {}) };
// The dev stack's secret for /dev/*, from the .dev.vars it wrote (or GATEHOUSE_DEV_SECRET).
const devVars = await readFile(".dev.vars", "utf8").catch(() => "");
const devSecret = process.env.GATEHOUSE_DEV_SECRET ?? /^DEV_SECRET='([^']*)'$/m.exec(devVars)?.[1] ?? "";
let res: Response;
try {
  res = await fetch(`${values.url}/dev/token`, { method: "POST", headers: { "Content-Type": "application/json", "X-Gatehouse-Dev-Secret": devSecret }, body: JSON.stringify(body) });
} catch {
  console.error(`Cannot reach ${values.url}. Is \`npm run dev\` running?`);
  process.exit(1);
}
const json = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string; expires_in?: number; scope?: string };
if (!res.ok || !json.access_token) {
  console.error(`No token: ${json.error ?? res.status}${json.error_description ? ` (${json.error_description})` : ""}`);
  process.exit(1);
}
if (values.json) console.log(JSON.stringify(json));
else {
  console.log(json.access_token);
  console.error(`scope "${json.scope}", expires in ${json.expires_in} s`);
}
