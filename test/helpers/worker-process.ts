// Worker-only processes (vod-worker.ts, ROLE=worker) on a harness's Redis
// prefix and DATA_DIR, for tests that SIGKILL one in the middle of a job and
// let another take the job over; the harness's own process then only serves
// the API, so that every job lands in a process the test may kill.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASE_URL, TEST_REDIS_URL, type Harness } from './harness.js';

const WORKER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'vod-worker.ts');

export interface WorkerProcesses {
  /** Starts one more (`env` over the common one); resolves once it takes jobs. */
  start(env?: Record<string, string>): Promise<ChildProcess>;
  /** SIGKILLs every one still running and waits until all have exited. */
  close(): Promise<void>;
}

/** Closes the harness's own workers: its process serves the API only (its close() then has no workers left to close). */
export async function serveApiOnly(h: Harness): Promise<void> {
  const workers = h.service.workers!;
  await workers.close();
  workers.close = async () => undefined;
}

/** Resolves with the signal (or exit code) the process ended with. */
export function exited(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode ?? child.exitCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

/** Worker processes configured like the harness, with `common` added to the environment of each. */
export function workerProcesses(h: Harness, common: Record<string, string> = {}): WorkerProcesses {
  const children: ChildProcess[] = [];
  return {
    async start(env = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
        env: {
          ...process.env,
          REDIS_URL: TEST_REDIS_URL,
          KEY_PREFIX: h.prefix,
          DATA_DIR: h.ctx.config.dataDir,
          PUBLIC_BASE_URL: BASE_URL,
          LOG_LEVEL: 'warn',
          ...common,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let output = '';
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          output += d.toString();
          if (output.includes('worker ready')) resolve();
        });
        child.on('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before it was ready: ${output}`)));
      });
      return child;
    },
    async close() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all(children.map(exited));
    },
  };
}
