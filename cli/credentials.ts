import { chmod, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { err } from "./terminal";

/**
 * The CLI's stored sign-ins (`gatehouse login`), one per Gatehouse URL, in
 * `$XDG_CONFIG_HOME/gatehouse/credentials.json` (default `~/.config/gatehouse/credentials.json`): the directory is
 * 0700 and the file 0600, written atomically (a new file renamed over the old one), since refresh tokens rotate on
 * every use and a torn write would lose the only valid one. Only the refresh token is kept: each command trades it
 * for a short-lived access token held in memory.
 */
export interface StoredLogin {
  url: string;
  issuer: string;
  token_endpoint: string;
  revocation_endpoint?: string;
  resource: string;
  client_id: string;
  refresh_token: string;
  scope: string;
  /** Who signed in and in which workspace, for display only (from the access token when it was issued). */
  subject?: string;
  workspace?: string;
  saved_at: string;
}

export interface CredentialsFile {
  version: 1;
  /** The URL of the latest `gatehouse login`: the default for commands run without --url or GATEHOUSE_URL. */
  current?: string;
  logins: Record<string, StoredLogin>;
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.startsWith("/") ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), ".config");
  return join(base, "gatehouse", "credentials.json");
}

/** A URL as the key of its sign-in: scheme, host and port, no trailing slash. */
export function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

const empty = (): CredentialsFile => ({ version: 1, logins: {} });

export async function readCredentials(path = credentialsPath()): Promise<CredentialsFile> {
  const text = await readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (text === undefined) return empty();
  // Another user able to read the file could use the refresh tokens in it: say so, and tighten it.
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    err(`warning: ${path} was readable by others (mode ${mode.toString(8)}); set to 0600`);
    await chmod(path, 0o600);
  }
  try {
    const parsed = JSON.parse(text) as Partial<CredentialsFile>;
    return { version: 1, ...(parsed.current ? { current: parsed.current } : {}), logins: parsed.logins ?? {} };
  } catch {
    throw new Error(`${path} is not valid JSON; remove it and run \`gatehouse login\` again`);
  }
}

/** Replaces the file atomically: a fresh 0600 file beside it, flushed, then renamed over it (same directory). */
export async function writeCredentials(file: CredentialsFile, path = credentialsPath()): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  if (Object.keys(file.logins).length === 0) {
    await rm(path, { force: true });
    return;
  }
  const tmp = join(dir, `.credentials.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Re-reads the file and applies `change` to it, so a concurrent command's rotation of another URL is kept. */
export async function updateCredentials(change: (file: CredentialsFile) => void, path = credentialsPath()): Promise<void> {
  const file = await readCredentials(path);
  change(file);
  await writeCredentials(file, path);
}
