// Load clients of scripts/bench-mp4.ts: cached MP4 Range requests against
// 127.0.0.1, bounded by a request count and a time limit.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

const run = promisify(execFile);

/**
 * The Range load runs on its own thread (the other core), with a bare
 * keep-alive HTTP/1.1 client that counts body bytes: Node's http client
 * parses and allocates so much that it, not the server, would be measured.
 */
const LOAD_CLIENT = `
const { workerData: w, parentPort } = require('node:worker_threads');
const net = require('node:net');
let issued = 0, done = 0, bytes = 0;
const began = performance.now();
const connection = () => new Promise((resolve, reject) => {
  const sock = net.connect(w.port, '127.0.0.1');
  let head = Buffer.alloc(0), remaining = -1;
  const next = () => {
    if (issued >= w.maxRequests || performance.now() - began > w.maxMs) return sock.end(resolve);
    issued++;
    const start = w.rangeBytes ? Math.floor(Math.random() * Math.max(1, w.size - w.rangeBytes)) : 0;
    const range = w.rangeBytes ? 'bytes=' + start + '-' + (start + w.rangeBytes - 1) : 'bytes=0-';
    sock.write('GET ' + w.path + ' HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nRange: ' + range + '\\r\\n\\r\\n');
  };
  sock.on('data', (data) => {
    let chunk = data;
    while (chunk.length > 0) {
      if (remaining < 0) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\\r\\n\\r\\n');
        if (end < 0) return;
        const text = head.toString('latin1', 0, end);
        if (!text.startsWith('HTTP/1.1 206')) return reject(new Error(text.split('\\r\\n')[0]));
        remaining = Number(/content-length: *(\\d+)/i.exec(text)[1]);
        chunk = head.subarray(end + 4);
        head = Buffer.alloc(0);
      }
      const take = Math.min(remaining, chunk.length);
      remaining -= take;
      bytes += take;
      chunk = chunk.subarray(take);
      if (remaining === 0) {
        remaining = -1;
        done++;
        next();
      }
    }
  });
  sock.on('error', reject);
  sock.on('connect', next);
});
Promise.all(Array.from({ length: w.concurrency }, connection)).then(
  () => parentPort.postMessage({ done, bytes, seconds: (performance.now() - began) / 1000 }),
  (err) => parentPort.postMessage({ error: String(err) }),
);
`;

export interface LoadResult { done: number; bytes: number; seconds: number; error?: string }

export const LOAD = { requests: 200, maxMs: 10_000, connections: 4 };

function randomRange(size: number, rangeBytes: number): string {
  const start = rangeBytes ? Math.floor(Math.random() * Math.max(1, size - rangeBytes)) : 0;
  return rangeBytes ? `bytes=${start}-${start + rangeBytes - 1}` : 'bytes=0-';
}

/**
 * Preferred load: curl processes (C, large reads), each going through its
 * share of the requests on one keep-alive connection; a curl still running at
 * maxMs is killed and what it finished counts.
 */
export async function curlLoad(opts: { port: number; path: string; size: number; rangeBytes: number }, dir: string): Promise<LoadResult> {
  const began = performance.now();
  const outputs = await Promise.all(Array.from({ length: LOAD.connections }, async (_, j) => {
    const config = path.join(dir, `curl-${j}.cfg`);
    const entries = Array.from({ length: LOAD.requests / LOAD.connections }, () => [
      `url = "http://127.0.0.1:${opts.port}${opts.path}"`, `header = "Range: ${randomRange(opts.size, opts.rangeBytes)}"`,
      'output = "/dev/null"', 'write-out = "%{http_code} %{size_download}\\n"',
    ].join('\n'));
    await writeFile(config, entries.join('\nnext\n'));
    return run('curl', ['-s', '-K', config], { timeout: LOAD.maxMs, killSignal: 'SIGKILL' })
      .then((r) => r.stdout, (err: { stdout?: string }) => err.stdout ?? '');
  }));
  const seconds = (performance.now() - began) / 1000;
  const lines = outputs.join('').trim().split('\n').filter(Boolean).map((l) => l.split(' ').map(Number));
  const wrong = lines.find(([status]) => status !== 206);
  if (wrong) return { done: 0, bytes: 0, seconds, error: `range answered ${wrong[0]}` };
  return { done: lines.length, bytes: lines.reduce((sum, [, n]) => sum + n, 0), seconds };
}

export async function hasCurl(): Promise<boolean> {
  return run('curl', ['--version']).then(() => true, () => false);
}

export function workerLoad(opts: { port: number; path: string; size: number; rangeBytes: number }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_CLIENT, {
      eval: true, workerData: { ...opts, concurrency: LOAD.connections, maxRequests: LOAD.requests, maxMs: LOAD.maxMs },
    });
    worker.once('message', (m: LoadResult) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    worker.once('error', reject);
  });
}
