import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";
import { validatePolicy } from "../src/policy/validate";
import { compilePolicy } from "../src/policy/compile";
import { diffPolicies, formatChanges } from "../src/policy/diff";
import { generateSigningJwk } from "../local/signing-key";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import factory from "libpg-query/wasm/libpg-query.js";
import { instantiatePgQuery } from "../src/guard/wasm-parser";
import { checkWriteStatements } from "../src/policy/write-check";
import { err, field, out, terminalSafe, write } from "./terminal";
import { currentUrl, login, logout, storedAccessToken } from "./login";
import { credentialsPath, normalizeUrl } from "./credentials";
import { toOcsf } from "../src/audit/ocsf";

/** The same PostgreSQL parser the Worker uses, from the package's WASM. */
async function nodeParser() {
  const wasm = new WebAssembly.Module(await readFile(createRequire(import.meta.url).resolve("libpg-query/wasm/libpg-query.wasm")));
  const parser = await instantiatePgQuery(factory, wasm);
  return async (sql: string) => parser.parse(sql);
}

/**
 * `gatehouse` — the operator CLI (docs/console.md).
 *   policy validate <file>          strict local validation; exit 1 with every error and its path
 *   policy diff <file>              what applying the file would change (against the server's current policy)
 *   policy apply <file>             apply through the admin API (versioned and audited)
 *   policy show [--json]            the applied policy
 *   token --user <email> [--scope]  dev only: a token for a demo user
 *   keys generate                   a new signing key (private JWK) for `wrangler secret put SIGNING_KEY`
 *   audit tail [--follow] [--filter k=v …]   recent audit rows, one line each
 *   audit export [--format jsonl|csv|ocsf] [--out file] [--from iso] [--to iso] [--filter k=v …]
 *                                   the R2 archive's rows, then D1's hot window (docs/audit.md "Archive")
 *   audit verify [--archive]        seal and check the hash chain against its anchors (server side); --archive
 *                                   from the archive's first row through the hot window
 *   approvals list [--all]          pending requests for your approver groups (GATEHOUSE_TOKEN with gatehouse:approve;
 *                                   --dev --user <email> mints one from the local stack)
 *   approvals approve <id> [--reason …] | approvals deny <id> --reason …
 *   login [--url https://host] [--no-browser]   sign in through the browser (cli/login.ts); the refresh token is
 *                                   kept in the user's config dir (cli/credentials.ts)
 *   logout                          revoke that sign-in and forget it
 *   proposals list [--all] | show <id> | approve <id> | deny <id> --reason …
 *                                   the two-person rule's held admin operations (docs/console.md "Proposals");
 *                                   `policy apply` and `task create` print the proposal id when they are held
 *   task create <task> --tools a,b [--ttl s] [--expires date] [--name …] | task rotate <client_id>
 *                                   a task client's id and secret (shown once)
 *   policy bootstrap <file>         the first policy of a deployment, with BOOTSTRAP_TOKEN (the Worker secret) in
 *                                   the environment; refused once any policy exists
 * Server commands go to --url, else GATEHOUSE_URL, else the URL of the latest `gatehouse login`, else
 * http://127.0.0.1:8787. They authenticate with GATEHOUSE_TOKEN when set (automation: an access token with the
 * gatehouse:admin or gatehouse:approve scope), else with the stored sign-in for that URL; with --dev the CLI mints
 * one for a demo user from the local dev stack.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" },
    dev: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    user: { type: "string" },
    scope: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    archive: { type: "boolean", default: false },
    format: { type: "string", default: "jsonl" },
    out: { type: "string" },
    follow: { type: "boolean", default: false },
    filter: { type: "string", multiple: true, default: [] },
    reason: { type: "string" },
    all: { type: "boolean", default: false },
    "no-browser": { type: "boolean", default: false },
    tools: { type: "string" },
    ttl: { type: "string" },
    expires: { type: "string" },
    name: { type: "string" },
  },
});
values.url = normalizeUrl(values.url ?? process.env.GATEHOUSE_URL ?? (await currentUrl()) ?? "http://127.0.0.1:8787");

function fail(message: string, code = 1): never {
  err(message);
  process.exit(code);
}

async function readPolicy(file: string | undefined): Promise<unknown> {
  if (!file) fail("a policy file is required", 2);
  const text = await readFile(file, "utf8").catch(() => fail(`cannot read ${file}`));
  try {
    return parse(text);
  } catch (e) {
    return fail(`${file} is not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function devSecret(): Promise<string> {
  const vars = await readFile(".dev.vars", "utf8").catch(() => "");
  return process.env.GATEHOUSE_DEV_SECRET ?? /^DEV_SECRET='([^']*)'$/m.exec(vars)?.[1] ?? "";
}

async function devToken(body: Record<string, string>): Promise<string> {
  const res = await fetch(`${values.url}/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Gatehouse-Dev-Secret": await devSecret() },
    body: JSON.stringify(body),
  }).catch(() => fail(`cannot reach ${values.url}; is \`npm run dev\` running?`));
  const json = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (!json.access_token) fail(`no token: ${json.error ?? res.status} ${json.error_description ?? ""}`);
  return json.access_token;
}

/**
 * The bearer token of a server command: GATEHOUSE_TOKEN when set (an override for automation), else the stored
 * sign-in for this URL (`gatehouse login`), refreshed silently.
 */
async function serverToken(scope: "gatehouse:admin" | "gatehouse:approve"): Promise<string> {
  const token = process.env.GATEHOUSE_TOKEN || (await storedAccessToken(values.url!).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e))));
  if (!token)
    fail(
      `not signed in to ${values.url}: run \`gatehouse login --url ${values.url}\` (a member of the policy's ${scope === "gatehouse:admin" ? "admins group" : "approver groups"}), or set GATEHOUSE_TOKEN to an access token with the ${scope} scope${scope === "gatehouse:admin" ? ", or pass --dev against the local stack" : ""}`,
      2,
    );
  return token;
}

let devAdmin: { token: string; at: number } | undefined;

async function adminToken(): Promise<string> {
  if (!values.dev) return serverToken("gatehouse:admin");
  // Minted once a minute at most (audit tail --follow asks before every page).
  // --user picks another demo admin (admin2@example.com approves what admin@example.com proposed).
  if (!devAdmin || Date.now() - devAdmin.at > 60_000) devAdmin = { token: await devToken({ user: values.user ?? "admin@example.com", scope: "gatehouse:admin" }), at: Date.now() };
  return devAdmin.token;
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${values.url}/admin/api${path}`, {
    method,
    headers: { Authorization: `Bearer ${await adminToken()}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).catch(() => fail(`cannot reach ${values.url}`));
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

function printErrors(errors: Array<{ path: string; message: string }>): void {
  for (const e of errors) err(`  ${e.path}: ${e.message}`);
}

const [cmd, sub, arg] = positionals;
if (cmd === "policy" && sub === "validate") {
  const checked = validatePolicy(await readPolicy(arg));
  const errors = checked.ok ? await checkWriteStatements(checked.policy, await nodeParser()) : checked.errors;
  if (!checked.ok || errors.length > 0) {
    err(`${arg}: ${errors.length} error(s)`);
    printErrors(errors);
    process.exit(1);
  }
  const compiled = await compilePolicy(checked.policy);
  out(`${arg}: valid (workspace ${compiled.workspace}, ${compiled.tools.length} tools, ${compiled.grants.length} grants, hash ${compiled.hash.slice(0, 16)})`);
} else if (cmd === "policy" && (sub === "diff" || sub === "apply")) {
  const document = await readPolicy(arg);
  const checked = validatePolicy(document);
  if (!checked.ok) {
    printErrors(checked.errors);
    process.exit(1);
  }
  if (sub === "diff") {
    const current = await admin("GET", "/policy");
    const before = current.status === 200 ? validatePolicy(current.json.document) : undefined;
    out(formatChanges(diffPolicies(before?.ok ? await compilePolicy(before.policy) : undefined, await compilePolicy(checked.policy))));
  } else {
    const res = await admin("POST", "/policy", document);
    if (res.status === 202) {
      // Held by the two-person rule (docs/console.md "Proposals"): another admin approves it.
      const p = res.json.proposal as Record<string, unknown>;
      out(`held for a second admin: proposal ${field(p.id)} (expires ${field(p.expires_at)})`);
      for (const r of p.reasons as unknown[]) out(`  why: ${field(r)}`);
      out(`another admin runs: gatehouse proposals approve ${field(p.id)}`);
      process.exit(0);
    }
    if (res.status !== 200) {
      err(`refused (${res.status}): ${field(res.json.error_description ?? res.json.error ?? "")}`);
      if (Array.isArray(res.json.errors)) printErrors(res.json.errors as Array<{ path: string; message: string }>);
      process.exit(1);
    }
    out(`applied: workspace ${field(res.json.workspace)} version ${field(res.json.version)}`);
    for (const line of res.json.changes as string[]) out(`  ${field(line)}`);
  }
} else if (cmd === "policy" && sub === "show") {
  const res = await admin("GET", "/policy");
  if (res.status !== 200) fail(`no policy (${res.status})`);
  out(
    values.json
      ? JSON.stringify(res.json.document, null, 2)
      : `# workspace ${String(res.json.workspace)}, version ${String(res.json.version)}, applied ${String(res.json.applied_at)} by ${String(res.json.applied_by)}\n${stringify(res.json.document)}`,
  );
} else if (cmd === "audit" && (sub === "export" || sub === "verify" || sub === "tail")) {
  const filters = new URLSearchParams((values.filter ?? []).map((f) => f.split("=", 2) as [string, string]));
  if (values.from) filters.set("from", values.from);
  if (values.to) filters.set("to", values.to);
  const page = async (after: number, format: string, limit = 10000, path = "/export") => {
    const token = await adminToken();
    const q = new URLSearchParams(filters);
    q.set("after", String(after));
    q.set("format", format);
    if (path === "/export") q.set("limit", String(limit));
    const res = await fetch(`${values.url}/admin/api/audit${path}?${q}`, { headers: { Authorization: `Bearer ${token}` } }).catch(() => fail(`cannot reach ${values.url}`));
    // A server without an archive answers 404 on /archive: its export is D1's alone.
    if (path === "/archive" && res.status === 404) return { text: "", next: null, end: 0 };
    if (!res.ok) fail(`export refused (${res.status}): ${await res.text()}`);
    return { text: await res.text(), next: res.headers.get("x-next-cursor"), end: Number(res.headers.get("x-archive-end") ?? 0) };
  };
  // The archive's rows (up to its recorded end) and then D1's rows after that end: each row once, in seq order.
  const all = async (format: string): Promise<string> => {
    let out = "";
    const add = (text: string) => (out += format === "csv" && out.length > 0 ? text.slice(text.indexOf("\r\n") + 2) : text);
    let end = 0;
    for (let after = 0; ; ) {
      const p = await page(after, format, 10000, "/archive");
      end = Math.max(end, p.end);
      add(p.text);
      if (!p.next) break;
      after = Number(p.next);
    }
    for (let after = end; ; ) {
      const p = await page(after, format);
      add(p.text);
      if (!p.next) return out;
      after = Number(p.next);
    }
  };
  if (sub === "export") {
    if (values.format !== "jsonl" && values.format !== "csv" && values.format !== "ocsf") fail("--format is jsonl, csv or ocsf", 2);
    // ocsf: the JSONL rows, each mapped to an OCSF 1.3.0 event (src/audit/ocsf.ts, docs/audit.md "SIEM export").
    const text =
      values.format === "ocsf"
        ? (await all("jsonl"))
            .split("\n")
            .filter(Boolean)
            .map((l) => `${JSON.stringify(toOcsf(JSON.parse(l) as Record<string, unknown>))}\n`)
            .join("")
        : await all(values.format);
    // Escaped in a file too (it is read with `cat` as often as parsed); JSONL stays lossless, see cli/terminal.ts.
    if (values.out) await writeFile(values.out, terminalSafe(text, { keepNewlines: true }));
    else write(text);
  } else if (sub === "verify") {
    // The server seals and checks the whole chain (every workspace); an admin sees only the verdict. With --archive
    // it goes through the R2 archive in bounded steps, each continuing from the previous step's head.
    type Verdict = { ok: boolean; rows: number; seq?: number; reason?: string; head?: { seq: number; hash: string } | null; next?: { after: number; prev: string } };
    let rows = 0;
    let query = values.archive ? "?archive=1" : "";
    let verdict: Verdict;
    for (;;) {
      const res = await fetch(`${values.url}/admin/api/audit/verify${query}`, { headers: { Authorization: `Bearer ${await adminToken()}` } }).catch(() => fail(`cannot reach ${values.url}`));
      if (!res.ok) fail(`verify refused (${res.status})`);
      verdict = (await res.json()) as Verdict;
      rows += verdict.rows;
      if (!verdict.ok || !verdict.next) break;
      query = `?archive=1&after=${verdict.next.after}&prev=${verdict.next.prev}`;
    }
    if (!verdict.ok) fail(`audit chain BROKEN at seq ${verdict.seq}: ${verdict.reason} (${rows} rows verified before it)`);
    out(`audit chain OK: ${rows} sealed rows${values.archive ? " (archive and hot window)" : ""}, head seq ${verdict.head?.seq ?? "-"} ${verdict.head?.hash.slice(0, 16) ?? ""}`);
  } else {
    let after = 0;
    for (;;) {
      for (;;) {
        const p = await page(after, "jsonl");
        for (const line of p.text.split("\n").filter(Boolean)) {
          const r = JSON.parse(line) as Record<string, unknown>;
          after = Number(r.seq);
          if (!values.follow || after > 0) out([r.time, r.event, r.outcome, r.rule, r.principal, r.tool, r.rows].map(field).join("  "));
        }
        if (!p.next) break;
      }
      if (!values.follow) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
} else if (cmd === "approvals" && (sub === "list" || sub === "approve" || sub === "deny")) {
  const token = values.dev ? await devToken({ user: values.user ?? "maria@example.com", scope: "gatehouse:approve" }) : await serverToken("gatehouse:approve");
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${values.url}/admin/api/approvals${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).catch(() => fail(`cannot reach ${values.url}`));
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  if (sub === "list") {
    const res = await api("GET", values.all ? "" : "?status=pending");
    if (res.status !== 200) fail(`refused (${res.status}): ${res.json.error_description ?? res.json.error ?? ""}`);
    if (values.json) out(JSON.stringify(res.json.approvals, null, 2));
    else
      for (const a of res.json.approvals as Array<Record<string, unknown>>)
        out(
          `${field(a.id)}  ${field(a.status)}  ${field(a.tool)}  ${field(JSON.stringify(a.arguments))}  by ${field(a.requester)}  expires ${field(a.expires_at)}\n    ${field(String(a.sql).replace(/\s+/g, " "))}`,
        );
  } else {
    if (!arg) fail(`usage: gatehouse approvals ${sub} <id>${sub === "deny" ? " --reason …" : ""}`, 2);
    const res = await api("POST", `/${encodeURIComponent(arg)}/${sub}`, values.reason ? { reason: values.reason } : {});
    if (res.status !== 200) fail(`refused (${res.status}): ${res.json.error_description ?? res.json.error ?? ""}`);
    out(`${res.json.id}: ${res.json.status} by ${res.json.decided_by}`);
  }
} else if (cmd === "proposals" && (sub === "list" || sub === "show" || sub === "approve" || sub === "deny")) {
  // The two-person rule's proposals of the caller's workspace (docs/console.md "Proposals"); admin scope.
  const line = (p: Record<string, unknown>) =>
    `${field(p.id)}  ${field(p.state)}  ${field(p.kind)}  by ${field(p.proposer)}  expires ${field(p.expires_at)}\n${(p.reasons as unknown[]).map((r) => `    why: ${field(r)}`).join("\n")}`;
  if (sub === "list") {
    const res = await admin("GET", `/proposals${values.all ? "" : "?status=pending"}`);
    if (res.status !== 200) fail(`refused (${res.status}): ${field(res.json.error_description ?? res.json.error ?? "")}`);
    const list = res.json.proposals as Array<Record<string, unknown>>;
    if (values.json) out(JSON.stringify(list, null, 2));
    else if (list.length === 0) out(values.all ? "no proposals" : "no pending proposals");
    else for (const p of list) out(line(p));
  } else {
    if (!arg) fail(`usage: gatehouse proposals ${sub} <id>${sub === "deny" ? " --reason …" : ""}`, 2);
    if (sub === "show") {
      const res = await admin("GET", `/proposals/${encodeURIComponent(arg)}`);
      if (res.status !== 200) fail(`refused (${res.status}): ${field(res.json.error_description ?? res.json.error ?? "")}`);
      if (values.json) out(JSON.stringify(res.json, null, 2));
      else {
        out(line(res.json));
        out(`  computed on policy version ${field(res.json.base_version)}, payload sha256 ${field(res.json.payload_sha256)}`);
        for (const ch of res.json.changes as unknown[]) out(`  ${field(ch)}`);
      }
    } else {
      if (sub === "deny" && !values.reason) fail("usage: gatehouse proposals deny <id> --reason …", 2);
      const res = await admin("POST", `/proposals/${encodeURIComponent(arg)}/${sub}`, values.reason ? { reason: values.reason } : {});
      if (res.status !== 200) {
        err(`refused (${res.status}): ${field(res.json.error_description ?? res.json.error ?? "")}`);
        if (Array.isArray(res.json.errors)) printErrors(res.json.errors as Array<{ path: string; message: string }>);
        process.exit(1);
      }
      const applied = res.json.applied as Record<string, unknown> | undefined;
      out(
        `${field(res.json.id)}: ${field(res.json.state)} by ${field(res.json.decided_by)}${applied ? ` (workspace ${field(applied.workspace)} version ${field(applied.version)})` : ""}${res.json.client_id ? ` (task client ${field(res.json.client_id)})` : ""}`,
      );
    }
  }
} else if (cmd === "task" && (sub === "create" || sub === "rotate")) {
  // Task clients (client_credentials). The secret is printed once; a client with a write tool waits for a second admin.
  if (sub === "rotate") {
    if (!arg) fail("usage: gatehouse task rotate <client_id>", 2);
    const res = await admin("POST", `/tasks/${encodeURIComponent(arg)}/rotate`, {});
    if (res.status !== 200) fail(`refused (${res.status}): ${field(res.json.error_description ?? res.json.error ?? "")}`);
    out(`client_id     ${field(res.json.client_id)}\nclient_secret ${field(res.json.client_secret)}   (shown once; the old secret no longer works)`);
  } else {
    if (!arg || !values.tools) fail("usage: gatehouse task create <task id> --tools a,b [--ttl 600] [--expires 2027-01-01] [--name …]", 2);
    const body = {
      task: arg,
      tools: values.tools
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
      ...(values.ttl ? { ttl_seconds: Number(values.ttl) } : {}),
      ...(values.expires ? { expires_at: values.expires } : {}),
      ...(values.name ? { name: values.name } : {}),
    };
    const res = await admin("POST", "/tasks", body);
    if (res.status !== 201 && res.status !== 202) fail(`refused (${res.status}): ${field(res.json.error_description ?? res.json.error ?? "")}`);
    out(
      `client_id     ${field(res.json.client_id)}\nclient_secret ${field(res.json.client_secret)}   (shown once)\ntools         ${field((res.json.tools as string[]).join(", "))}, tokens ${field(res.json.ttl_seconds)} s, until ${field(res.json.expires_at)}`,
    );
    if (res.status === 202) {
      const p = res.json.proposal as Record<string, unknown>;
      out(`held for a second admin: proposal ${field(p.id)}; the secret works once another admin runs: gatehouse proposals approve ${field(p.id)}`);
    }
  }
} else if (cmd === "policy" && sub === "bootstrap") {
  // The deployment's first policy (docs/deployment.md): the server checks it exactly like an
  // apply, and refuses once any policy exists.
  const document = await readPolicy(arg);
  const checked = validatePolicy(document);
  if (!checked.ok) {
    printErrors(checked.errors);
    process.exit(1);
  }
  const secret = process.env.BOOTSTRAP_TOKEN;
  if (!secret) fail("set BOOTSTRAP_TOKEN to the value of the Worker secret of that name", 2);
  const res = await fetch(`${values.url}/admin/api/bootstrap`, {
    method: "POST",
    headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" },
    body: JSON.stringify(document),
  }).catch(() => fail(`cannot reach ${values.url}`));
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status !== 200) {
    err(`refused (${res.status}): ${String(json.error_description ?? json.error ?? "")}`);
    if (Array.isArray(json.errors)) printErrors(json.errors as Array<{ path: string; message: string }>);
    process.exit(1);
  }
  out(`bootstrapped: workspace ${String(json.workspace)} version ${String(json.version)}; BOOTSTRAP_TOKEN is now spent (delete the secret). Next: gatehouse login --url ${values.url}`);
} else if (cmd === "login") {
  try {
    const { login: l, scope } = await login(values.url!, { open: !values["no-browser"], ...(values.scope ? { scope: values.scope } : {}), say: err });
    out(`signed in to ${l.url} as ${l.subject ?? "?"} (workspace ${l.workspace ?? "?"}, scope ${scope || "none"}); credentials in ${credentialsPath()}`);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
} else if (cmd === "logout") {
  try {
    const gone = await logout(values.url!);
    out(gone ? `signed out of ${gone.url}: refresh token revoked and forgotten` : `not signed in to ${values.url}`);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
} else if (cmd === "token") {
  if (!values.user) fail("usage: gatehouse token --user <email> [--scope …]", 2);
  out(await devToken({ user: values.user, ...(values.scope ? { scope: values.scope } : {}) }));
} else if (cmd === "keys" && sub === "generate") {
  out(generateSigningJwk());
} else {
  fail(
    "usage: gatehouse login [--url …] [--no-browser] | logout | policy validate|diff|apply|bootstrap <file> | policy show | audit tail|export|verify | approvals list|approve|deny | proposals list|show|approve|deny | task create|rotate | token --user <email> | keys generate  (see cli/gatehouse.ts)",
    2,
  );
}
