// The embedded default: with no REDIS_URL the service runs its own private
// redis-server, reachable only through a unix socket under DATA_DIR, with the
// append-only file on so the DVR and clips survive a restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface EmbeddedRedis {
  /** The socket's absolute path: ioredis takes it as a URL (`new Redis(url)`). */
  url: string;
  stop(): Promise<void>;
}

export const MISSING_REDIS_SERVER =
  'redis-server is not installed: install it with `apt-get install redis-server`, or set REDIS_URL';

const START_TIMEOUT_MS = 10_000;
/** A large append-only file can take a while to load; Redis answers LOADING meanwhile. */
const LOADING_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 10_000;
/** sun_path holds 108 bytes on Linux (104 on macOS); stay well below. */
const MAX_SOCKET_PATH = 100;

/** Finds an executable on PATH, as `which` would. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir || '.', name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function socketPathFor(redisDir: string): string {
  const preferred = path.join(redisDir, 'redis.sock');
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const hash = createHash('sha256').update(redisDir).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `dvr-redis-${hash}.sock`);
}

/** One PING over the socket: 'ok', 'loading' (still reading its AOF) or 'down'. */
async function ping(socket: string): Promise<'ok' | 'loading' | 'down'> {
  const client = new Redis({
    path: socket,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {}); // failures are the answer, not news
  try {
    await client.connect();
    await client.ping();
    return 'ok';
  } catch (err) {
    return /LOADING/.test(String(err)) ? 'loading' : 'down';
  } finally {
    client.disconnect();
  }
}

function spawnServer(redisDir: string, socket: string): ChildProcess {
  const args = [
    '--port', '0', // no TCP: the socket is the only way in
    '--unixsocket', socket, '--unixsocketperm', '700',
    '--dir', redisDir,
    '--appendonly', 'yes', '--save', '',
    '--daemonize', 'no',
  ];
  const server = findExecutable('redis-server');
  if (!server) throw new Error(MISSING_REDIS_SERVER);
  // setpriv makes the kernel send SIGTERM to redis-server if this process dies
  // without running its exit hooks (SIGKILL, OOM), so the child never outlives us.
  const setpriv = findExecutable('setpriv');
  const [cmd, argv] = setpriv
    ? [setpriv, ['--pdeathsig', 'SIGTERM', '--', server, ...args]]
    : [server, args];
  // Its own process group: a signal to the service's group (Ctrl-C in a
  // terminal, `kill -TERM -PGID`) does not stop Redis under the requests and
  // jobs still finishing; the service stops it last. (systemd signals its
  // whole cgroup, Redis included: then the shutdown does not wait on Redis.)
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

/** Keeps the last lines redis-server printed, for the error when it fails to start. */
function captureOutput(child: ChildProcess, log: Logger): string[] {
  const tail: string[] = [];
  const onData = (data: Buffer) => {
    for (const line of data.toString().split('\n')) {
      if (!line.trim()) continue;
      log.debug({ redis: line }, 'embedded redis output');
      tail.push(line);
      if (tail.length > 20) tail.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return tail;
}

async function waitUntilReady(socket: string, exited: () => boolean, tail: string[]): Promise<void> {
  const started = Date.now();
  for (;;) {
    const state = await ping(socket);
    if (state === 'ok') return;
    const elapsed = Date.now() - started;
    if (exited() || elapsed > (state === 'loading' ? LOADING_TIMEOUT_MS : START_TIMEOUT_MS)) {
      const why = exited() ? 'exited' : 'did not answer in time';
      throw new Error(`embedded redis-server ${why}: ${tail.slice(-5).join(' | ') || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a private redis-server for DATA_DIR and waits until it answers.
 * Refuses to start a second server on a data directory whose server is live.
 */
export async function startEmbeddedRedis(dataDir: string, log: Logger): Promise<EmbeddedRedis> {
  const redisDir = path.resolve(dataDir, 'redis');
  fs.mkdirSync(redisDir, { recursive: true });
  const socket = socketPathFor(redisDir);
  if (fs.existsSync(socket)) {
    if ((await ping(socket)) !== 'down') {
      throw new Error(`another process already runs the embedded Redis of ${dataDir} (${socket}): stop it, use another DATA_DIR, or set REDIS_URL`);
    }
    fs.rmSync(socket, { force: true }); // left over from a crash
  }

  const child = spawnServer(redisDir, socket);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => { exited = true; resolve(); });
    child.once('error', () => { exited = true; resolve(); });
  });
  const tail = captureOutput(child, log);
  // The last word on process exit: synchronous, so it also runs on process.exit().
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);

  try {
    await waitUntilReady(socket, () => exited, tail);
  } catch (err) {
    child.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    throw err;
  }
  log.debug({ socket, dir: redisDir, pid: child.pid }, 'embedded redis started');

  return {
    url: socket,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (exited) return;
      child.kill('SIGTERM'); // redis flushes the append-only file and exits
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exitedPromise;
      clearTimeout(force);
      log.info('embedded redis stopped');
    },
  };
}

/**
 * For the admin CLI: the embedded Redis the running service started, if it
 * answers; otherwise one started just for this command.
 */
export async function joinOrStartEmbeddedRedis(dataDir: string, log: Logger): Promise<EmbeddedRedis> {
  const socket = socketPathFor(path.resolve(dataDir, 'redis'));
  if (fs.existsSync(socket) && (await ping(socket)) === 'ok') return { url: socket, stop: async () => {} };
  return startEmbeddedRedis(dataDir, log);
}
