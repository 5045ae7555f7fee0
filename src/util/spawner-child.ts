// The helper process of spawner.ts: it runs the commands the service asks
// for and sends back what they printed. It holds nothing but its children,
// so its forks stay cheap. It ends, and ends its children, when the service
// that started it goes away.
import { spawn, type ChildProcess } from 'node:child_process';
import type { RunReply, RunRequest } from './spawner.js';

const running = new Map<number, ChildProcess>();
const send = (reply: RunReply) => process.send?.(reply);

function run(req: RunRequest): void {
  // nice(1) sets the priority before the command starts: no moment at full priority.
  const [command, args] = req.nice > 0 ? ['nice', ['-n', String(req.nice), req.command, ...req.args]] : [req.command, req.args];
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    send({ id: req.id, code: null, signal: null, stdout: Buffer.alloc(0), stderr: '', error: (err as Error).message });
    return;
  }
  running.set(req.id, child);
  const out: Buffer[] = [];
  let outBytes = 0;
  let err = '';
  let error: string | undefined;
  const timer = setTimeout(() => child.kill('SIGKILL'), req.timeoutMs);
  child.stdout!.on('data', (b: Buffer) => {
    outBytes += b.length;
    if (outBytes <= req.maxOutput) out.push(b);
    else if (!error) {
      error = `printed more than ${req.maxOutput} bytes`;
      child.kill('SIGKILL');
    }
  });
  // Its last lines say why it failed: those are what is kept.
  child.stderr!.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-4000); });
  // A command that stops reading early (ffmpeg has its one frame) closes its stdin.
  child.stdin!.on('error', () => undefined);
  child.on('error', (e) => { error = e.message; });
  child.on('close', (code, signal) => {
    clearTimeout(timer);
    running.delete(req.id);
    send({ id: req.id, code, signal, stdout: Buffer.concat(out), stderr: err, error });
  });
  child.stdin!.end(req.input ?? Buffer.alloc(0));
}

process.on('message', (msg: RunRequest | { kill: number }) => {
  if ('kill' in msg) running.get(msg.kill)?.kill('SIGKILL');
  else run(msg);
});

// A signal to the whole process group reaches the commands themselves; the
// helper stays to report how they ended, until the service goes.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

// The service is gone (exited, killed): so are its commands.
process.on('disconnect', () => {
  for (const child of running.values()) child.kill('SIGKILL');
  process.exit(0);
});
