// The service's ffmpeg and ffprobe runs (MP4 remuxes, thumbnails, probes)
// are spawned by a helper process (spawner-child.ts), not by the service.
// spawn() forks the calling process, and the fork copies its page tables
// while its event loop waits: measured here 1.3 ms for a process of 45 MB
// and 21 ms for one of 360 MB, which an api process reaches with its chunk
// and playlist caches. Every request waiting behind that fork paid for a
// thumbnail or a prebuild. The helper holds only its children, so its
// forks stay cheap, and they never stop the service's event loop.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface RunRequest {
  id: number;
  command: string;
  args: string[];
  input?: Buffer;
  /** Niceness the command runs at (0: the helper's own). */
  nice: number;
  timeoutMs: number;
  /** Past this many bytes of stdout the command is killed. */
  maxOutput: number;
}

export interface RunReply {
  id: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** Its last 4,000 characters. */
  stderr: string;
  /** Why it did not start or was stopped (other than by a signal). */
  error?: string;
}

export interface RunOptions {
  input?: Buffer;
  nice?: number;
  timeoutMs: number;
  maxOutput?: number;
}

export interface Run {
  result: Promise<RunReply>;
  /** SIGKILLs the command; its result then says so. */
  kill(): void;
}

let helper: ChildProcess | null = null;
let nextId = 1;
const pending = new Map<number, (reply: RunReply) => void>();

function started(): ChildProcess {
  if (helper && helper.connected) return helper;
  const child = fork(path.join(import.meta.dirname, 'spawner-child.ts'), [], {
    // tsx, found from here (the service may run under another loader, as in the tests), and no other flags.
    execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('message', (reply: RunReply) => {
    const done = pending.get(reply.id);
    pending.delete(reply.id);
    // Structured clone hands a Buffer over as a plain Uint8Array: viewed as a Buffer again, not copied.
    done?.({ ...reply, stdout: Buffer.from(reply.stdout.buffer, reply.stdout.byteOffset, reply.stdout.byteLength) });
    if (pending.size === 0) child.channel?.unref();
  });
  child.once('exit', (code, signal) => {
    if (helper === child) helper = null;
    // What was running with it has no result: say so, and the next run starts another helper.
    for (const [id, done] of pending) done({ id, code: null, signal: null, stdout: Buffer.alloc(0), stderr: '', error: `the spawner process ended (${signal ?? `exit ${code}`})` });
    pending.clear();
  });
  // It must not keep the service alive by itself.
  child.unref();
  child.channel?.unref();
  helper = child;
  return child;
}

/** Runs `command` in the helper; resolves however it ends (look at code, signal, error). */
export function runOutOfProcess(command: string, args: string[], opts: RunOptions): Run {
  const id = nextId++;
  const child = started();
  const result = new Promise<RunReply>((resolve) => pending.set(id, resolve));
  // While a run is pending, the channel keeps the service alive to hear its end.
  child.channel?.ref();
  const req: RunRequest = { id, command, args, input: opts.input, nice: opts.nice ?? 0, timeoutMs: opts.timeoutMs, maxOutput: opts.maxOutput ?? 64 * 1024 * 1024 };
  child.send(req);
  return { result, kill: () => { if (pending.has(id) && child.connected) child.send({ kill: id }); } };
}

/** The helper's pid, if it runs (tests). */
export function spawnerPid(): number | undefined {
  return helper?.pid;
}
