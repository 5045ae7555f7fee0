// References of the benchmarks, measured in the same run as the service:
// a bare Node http server sending the same bytes from memory, and nginx
// sending them from disk (sendfile), both on 127.0.0.1 and one process like
// the service under test; and wrk, the load generator. Every run is bounded
// in time (wrk -d) and every child is stopped by its own pid.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { nginxPrefix, startNginx } from '../test/helpers/nginx.js';

const run = promisify(execFile);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request to the service on 127.0.0.1, kept alive, without Accept-Encoding (as wrk asks); the body is kept. */
export function request(port: number, method: string, url: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url, headers, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Closes the kept-alive sockets of request(), so the script can end. */
export function closeRequests(): void {
  agent.destroy();
}

export interface WrkResult {
  rps: number;
  bytesPerSecond: number;
  /** Requests answered in the run. */
  requests: number;
}

export const WRK = { connections: 16, seconds: 3 };

export async function hasWrk(): Promise<boolean> {
  return run('wrk', ['--version']).then(() => true, (err: { stdout?: string }) => Boolean(err.stdout?.includes('wrk')));
}

function parseSize(n: string, unit: string): number {
  return Number(n) * ({ B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[unit] ?? 1);
}

/** wrk, one thread (the other core serves), WRK.connections keep-alive connections, WRK.seconds. */
export async function wrk(url: string, headers: Record<string, string> = {}): Promise<WrkResult> {
  const args = ['-t1', `-c${WRK.connections}`, `-d${WRK.seconds}s`, '--timeout', '5s'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const { stdout } = await run('wrk', [...args, url], { timeout: (WRK.seconds + 20) * 1000 });
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  if (bad) throw new Error(`${url}: ${bad[1]} answers were not 2xx/3xx`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(stdout);
  const requests = /(\d+) requests in/.exec(stdout);
  if (!rps || !transfer || !requests) throw new Error(`wrk printed no rate for ${url}:\n${stdout}`);
  return { rps: Number(rps[1]), bytesPerSecond: parseSize(transfer[1], transfer[2]), requests: Number(requests[1]) };
}

/** Interleaved runs of each measurement, by name. */
export type Rounds<K extends string> = Record<K, WrkResult[]>;

/**
 * Runs every measurement ROUNDS times, one after another in an order that
 * rotates each round, so that the machine drifting (another tenant, a
 * frequency step) weighs on the service and its references alike; a ratio
 * is then taken within each round (ratios).
 */
export const ROUNDS = 3;

export async function interleaved<K extends string>(measure: Record<K, () => Promise<WrkResult>>): Promise<Rounds<K>> {
  const names = Object.keys(measure) as K[];
  const out = Object.fromEntries(names.map((n) => [n, [] as WrkResult[]])) as Rounds<K>;
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length];
      out[name].push(await measure[name]());
    }
  }
  return out;
}

/** Median request rate of a measurement's rounds. */
export function medianRps(runs: WrkResult[]): number {
  return percentile(runs.map((r) => r.rps).sort((a, b) => a - b), 50);
}

/** Round by round a's rate over b's: "median (lowest-highest)". */
export function ratios(a: WrkResult[], b: WrkResult[]): string {
  const each = a.map((r, i) => r.rps / b[i].rps).sort((x, y) => x - y);
  return `${percentile(each, 50).toFixed(2)}x (${each[0].toFixed(2)}-${each.at(-1)!.toFixed(2)})`;
}

/** CPU seconds a process of ours (by pid) has used so far, from /proc; null where there is none. */
export async function cpuSecondsOf(pid: number | undefined): Promise<number | null> {
  if (!pid) return null;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!stat) return null;
  // Fields 14 and 15 (utime, stime), counted after the command name's closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (await portOpen(port)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}`);
    await sleep(50);
  }
}

export interface Reference {
  url(name: string): string;
  stop(): Promise<void>;
  /** The serving process, where it is one process. */
  pid?: number;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** The files' bytes, served by name from memory by a bare Node http server in a process of its own. */
export async function bareNode(dir: string, files: Record<string, string>): Promise<Reference> {
  const port = await freePort();
  const code = `
const http = require('node:http'); const fs = require('node:fs'); const path = require('node:path');
const types = ${JSON.stringify(files)};
const bodies = new Map(Object.keys(types).map((n) => ['/' + n, fs.readFileSync(path.join(${JSON.stringify(dir)}, n))]));
http.createServer((req, res) => {
  const body = bodies.get(req.url);
  if (!body) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': types[req.url.slice(1)], 'content-length': body.length });
  res.end(body);
}).listen(${port}, '127.0.0.1');`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  await waitForPort(port, child, 'the bare node server');
  return { url: (name) => `http://127.0.0.1:${port}/${name}`, stop: () => stopChild(child), pid: child.pid };
}

/**
 * The same bare server inside the calling process (the service's, in
 * bench.ts): what a request costs in a process as large and busy as the
 * service, without the service's own work. Its figure tells how much of the
 * gap to the bare server apart is the service's code.
 */
export async function bareNodeHere(dir: string, files: Record<string, string>): Promise<Reference> {
  const bodies = new Map<string, Buffer>(await Promise.all(Object.keys(files).map(async (n): Promise<[string, Buffer]> => [`/${n}`, await readFile(path.join(dir, n))])));
  const server = http.createServer((req, res) => {
    const body = bodies.get(req.url ?? '');
    if (!body) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': files[req.url!.slice(1)], 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: (name) => `http://127.0.0.1:${port}/${name}`, stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

/** nginx serving the folder from disk with sendfile, one worker, in a prefix of its own. */
export async function nginxStatic(dir: string): Promise<Reference> {
  const port = await freePort();
  const prefix = await nginxPrefix('dvr-bench-nginx-');
  const nginx = await startNginx(prefix, `  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  server { listen 127.0.0.1:${port}; root ${dir}; }`, () => portOpen(port), 10_000);
  return { url: (name) => `http://127.0.0.1:${port}/${name}`, stop: nginx.stop };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

/** A real 60 s three-rendition ladder (2 s chunks), encoded once into the temp folder and reused. */
export const LADDER_SECONDS = 60;
export const ladderDir = path.join(os.tmpdir(), `dvr-bench-ladder-${LADDER_SECONDS}s`);

export async function ensureLadder(): Promise<void> {
  if (existsSync(path.join(ladderDir, 'master.m3u8'))) return;
  const { demoEncoderArgs } = await import('../src/demo/encoder.js');
  const tmp = `${ladderDir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  process.stdout.write(`encoding a ${LADDER_SECONDS} s ladder into ${ladderDir} ... `);
  await run('ffmpeg', demoEncoderArgs(`${tmp}/`, { hlsTime: 2, durationSec: LADDER_SECONDS, overlay: false, vod: true }));
  const { rename } = await import('node:fs/promises');
  await rename(tmp, ladderDir);
  console.log('done');
}

/** The chunks of one of the ladder's media playlists. */
export async function ladderChunks(rendition: number): Promise<{ uri: string; extinf: string }[]> {
  const lines = (await readFile(path.join(ladderDir, `stream_${rendition}.m3u8`), 'utf8')).split('\n').map((l) => l.trim());
  return lines.flatMap((l, i) => (l.startsWith('#EXTINF:') ? [{ extinf: l, uri: lines[i + 1] }] : []));
}
