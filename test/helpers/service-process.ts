// The real service as a user runs it (`node --import tsx src/main.ts`), in
// its own process group, with its output kept for assertions; and a
// throwaway redis-server a test may stop and start again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { waitFor } from './harness.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  dataDir: string;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Parsed pino lines printed so far. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name) and how long after `since` it came. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<void>;
  url(p: string): string;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** `node --import tsx src/main.ts` with the tests' defaults under `env`, in its own process group, as a terminal or systemd would start it. */
function spawnService(env: Record<string, string>, dataDir: string, port: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: process.cwd(),
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', DEMO: '0', LOG_LEVEL: 'info', API_PROCESSES: '1', RTMP_PORT: '0', SRT_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

/** Starts the service; `env` adds to (and overrides) the environment. Resolves once it logged "service ready". */
export async function startServiceProcess(env: Record<string, string>, opts: { dataDir?: string; port?: number } = {}): Promise<ServiceProcess> {
  const dataDir = opts.dataDir ?? tempDir('dvr-svc-');
  const port = opts.port ?? await freePort();
  const child = spawnService(env, dataDir, port);
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const logs = () => text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try { return [JSON.parse(line) as Record<string, unknown>]; } catch { return []; }
  });
  const proc: ServiceProcess = {
    child, port, dataDir, exited, logs,
    output: () => text,
    url: (p) => `http://127.0.0.1:${port}${p}`,
    async waitForLog(msg, timeoutMs = 60_000) {
      let done = false;
      void exited.then(() => (done = true));
      await waitFor(() => {
        if (logs().some((l) => typeof l.msg === 'string' && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)))) return true;
        if (done) throw new Error(`service exited before logging "${msg}":\n${text.slice(-3000)}`);
        return false;
      }, `log line "${msg}"`, timeoutMs, 100);
    },
  };
  await proc.waitForLog('service ready', 90_000);
  return proc;
}

/**
 * The service started as startServiceProcess does, for a boot that must
 * fail: resolves with its exit code and everything it printed (its process
 * group killed after `timeoutMs` if it never exits, and whatever of it is
 * left once it did); its data folder is removed.
 */
export async function serviceBootOutcome(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const dataDir = tempDir('dvr-boot-');
  const child = spawnService(env, dataDir, await freePort());
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const killGroup = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } };
  const timer = setTimeout(killGroup, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  killGroup();
  for (const pid of redisServersOf(dataDir)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  rmSync(dataDir, { recursive: true, force: true });
  return { code, output };
}

/** The API key of the demo company that a first run in `dataDir` printed and saved. */
export function demoApiKey(dataDir: string): string {
  return (JSON.parse(readFileSync(path.join(dataDir, 'demo-credentials.json'), 'utf8')) as { api_key: string }).api_key;
}

export interface ServiceProcesses {
  /** A new data folder (`prefix` names it), removed after the test file. */
  dataDir(prefix: string): string;
  start(env: Record<string, string>, opts?: { dataDir?: string; port?: number }): Promise<ServiceProcess>;
}

/**
 * Service processes a test file starts: after the file, every process group
 * still there is SIGKILLed, then any embedded redis-server left in the data
 * folders, and the folders are removed.
 */
export function serviceProcesses(): ServiceProcesses {
  const dirs: string[] = [];
  const running: ServiceProcess[] = [];
  afterAll(() => {
    for (const p of running) try { process.kill(-p.child.pid!, 'SIGKILL'); } catch { /* gone */ }
    for (const dir of dirs) {
      for (const pid of redisServersOf(dir)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return {
    dataDir(prefix) {
      const dir = tempDir(prefix);
      dirs.push(dir);
      return dir;
    },
    async start(env, opts) {
      const p = await startServiceProcess(env, opts);
      running.push(p);
      return p;
    },
  };
}

/** The pids of the redis-server processes whose command line names `dir`. */
export function redisServersOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes('redis-server') && cmd.includes(dir)) pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}

/** Lines of a stack trace ("    at fn (file:line)") in a process's output, printed or inside a JSON log line. */
export function stackTraceLines(output: string): string[] {
  return output.split(/\n|\\n/).filter((line) => /^\s+at\s.+[:(]/.test(line));
}

export interface ThrowawayRedis {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A redis-server on a free port that the test stops (SIGKILL) and starts
 * again (never the shared one). With `persist`, every write is in its
 * append-only file first, so a restart has all the data back.
 */
export async function throwawayRedis(opts: { persist?: boolean } = {}): Promise<ThrowawayRedis> {
  const port = await freePort();
  const dir = tempDir('dvr-redis-');
  let child: ChildProcess | null = null;
  const answers = () => new Promise<boolean>((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => { sock.destroy(); resolve(d.toString().startsWith('+PONG')); });
    sock.once('error', () => resolve(false));
  });
  const redis: ThrowawayRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir,
        ...(opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])], { stdio: 'ignore' });
      await waitFor(answers, `redis-server on ${port}`, 10_000, 50);
    },
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      await new Promise((resolve) => { c.once('exit', resolve); c.kill('SIGKILL'); });
    },
    async close() {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
