// Benchmark of the seed-000 segment API (token check, one Redis round trip,
// file stream) against plain clip chunk serving (/rec/…/rec_{clip}_{chunk}.ts,
// no auth, bytes from Redis), on the same chunk, in the same run, for the
// smallest and the largest rendition. Prints requests per second of each and
// their ratio (target: segments ≥ 0.7 × chunks), and the server's CPU time per
// request of each, which a busy machine disturbs less than req/s.
//
// The service listens on 127.0.0.1; the load comes from a child process
// (this script with --load: keep-alive node:http clients), so client and
// server do not share an event loop. Each run is bounded by a request count
// and a duration. Rounds alternate the two endpoints; the median of the
// per-round ratios counts.
//
// Run: node --import tsx scripts/bench-segments.ts
//   REDIS_URL (default redis://127.0.0.1:6379), BENCH_CONNECTIONS (16),
//   BENCH_SECONDS (5), BENCH_MAX_REQUESTS (100000), BENCH_ROUNDS (3)
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { RenditionVideo, VideoRecord } from '../src/vod/records.js';
import { startHarness, type Harness } from '../test/helpers/harness.js';
import { loginAs, makeVod } from '../test/helpers/vod-access.js';

const env = (name: string, fallback: number) => Number(process.env[name] || fallback);
const CONNECTIONS = env('BENCH_CONNECTIONS', 16);
const SECONDS = env('BENCH_SECONDS', 5);
const MAX_REQUESTS = env('BENCH_MAX_REQUESTS', 100_000);
const ROUNDS = env('BENCH_ROUNDS', 3);
const TARGET = 0.7;

interface Load {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  seconds?: number;
}

/** In the child: `CONNECTIONS` keep-alive loops until the count or the time runs out. */
async function generateLoad(load: Load): Promise<{ ok: number; failed: number; seconds: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const url = new URL(load.url);
  const headers = load.body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(load.body)) } : {};
  const once = () => new Promise<number>((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: load.method ?? 'GET', headers, agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(load.body);
  });
  let ok = 0;
  let failed = 0;
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + (load.seconds ?? SECONDS) * 1000;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (started < MAX_REQUESTS && performance.now() < deadline) {
      started++;
      if ((await once()) === 200) ok++;
      else failed++;
    }
  }));
  agent.destroy();
  return { ok, failed, seconds: (performance.now() - t0) / 1000 };
}

interface Measured {
  rps: number;
  /** CPU time of this (the server) process per request, µs: steadier than rps on a busy machine. */
  cpuUs: number;
}

/** Requests per second that answered 200, measured from a child process; any other answer fails the bench. */
async function measure(load: Load, seconds = SECONDS): Promise<Measured> {
  const cpu = process.cpuUsage();
  const result = await loadFromChild(load, seconds);
  const used = process.cpuUsage(cpu);
  return { rps: result.ok / result.seconds, cpuUs: (used.user + used.system) / Math.max(1, result.ok) };
}

function loadFromChild(load: Load, seconds: number): Promise<{ ok: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--load', JSON.stringify({ ...load, seconds })], {
      execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => child.kill(), (seconds + 30) * 1000);
    child.once('message', (result: { ok: number; failed: number; seconds: number }) => {
      clearTimeout(timer);
      if (result.failed) reject(new Error(`${load.url}: ${result.failed} answers other than 200`));
      else resolve(result);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`load generator exited (${code}) without a result`));
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Pair {
  label: string;
  chunk: Load;
  segment: Load;
}

/** The same chunk both ways: a VOD segment is a copy of the clip chunk at the same place. */
async function pairFor(h: Harness, base: string, vod: VideoRecord, rendition: RenditionVideo, token: string): Promise<Pair> {
  const clip = (await h.api('GET', `/streaming/streams/${vod.stream_id}/clip_recording/${vod.clip_id}`)).json() as { hls_master: string };
  const mediaUrl = clip.hls_master.replace(/_master\.m3u8$/, `_${rendition.rendition}.m3u8`);
  const chunkFile = (await h.get(mediaUrl)).body.split('\n').find((l) => l.endsWith('.ts'))!;
  const chunk: Load = { url: `${base}${new URL(mediaUrl).pathname.replace(/[^/]+$/, chunkFile)}` };
  const segment: Load = { url: `${base}/api/um-get-hls-segment/${rendition.id}/1`, method: 'POST', body: JSON.stringify({ user_token: token }) };
  const [a, b] = await Promise.all([
    fetch(chunk.url), fetch(segment.url, { method: 'POST', body: segment.body, headers: { 'content-type': 'application/json' } }),
  ]);
  const [bytesA, bytesB] = [Buffer.from(await a.arrayBuffer()), Buffer.from(await b.arrayBuffer())];
  if (a.status !== 200 || b.status !== 200 || !bytesA.equals(bytesB)) {
    throw new Error(`the two endpoints do not send the same chunk (${a.status}, ${b.status})`);
  }
  return { label: `${rendition.rendition} (${bytesA.length} bytes)`, chunk, segment };
}

/** Alternating rounds; the ratio of each round is paired, so drift in machine load cancels out. */
async function compare(pair: Pair): Promise<Record<string, unknown>> {
  await measure(pair.chunk, 1);
  await measure(pair.segment, 1); // warm-up
  const chunks: Measured[] = [];
  const segments: Measured[] = [];
  const ratios: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const chunk = await measure(pair.chunk);
    const segment = await measure(pair.segment);
    chunks.push(chunk);
    segments.push(segment);
    ratios.push(segment.rps / chunk.rps);
    process.stdout.write(`  ${pair.label} round ${round}: clip chunks ${chunk.rps.toFixed(0)} req/s (${chunk.cpuUs.toFixed(0)} µs CPU), `
      + `segment API ${segment.rps.toFixed(0)} req/s (${segment.cpuUs.toFixed(0)} µs CPU), ratio ${ratios.at(-1)!.toFixed(2)}\n`);
  }
  const ratio = median(ratios);
  const cpuRatio = median(chunks.map((c) => c.cpuUs)) / median(segments.map((s) => s.cpuUs));
  return {
    chunk: pair.label,
    clip_chunk_rps: Math.round(median(chunks.map((c) => c.rps))), segment_api_rps: Math.round(median(segments.map((s) => s.rps))),
    clip_chunk_cpu_us: Math.round(median(chunks.map((c) => c.cpuUs))), segment_api_cpu_us: Math.round(median(segments.map((s) => s.cpuUs))),
    ratio: Number(ratio.toFixed(3)), cpu_ratio: Number(cpuRatio.toFixed(3)), ok: ratio >= TARGET,
  };
}

async function main(): Promise<void> {
  process.env.REDIS_URL ||= 'redis://127.0.0.1:6379';
  process.env.TEST_REDIS_URL ||= process.env.REDIS_URL;
  process.stdout.write('making a VOD (clip of the fixture ladder, promoted by the worker) ...\n');
  const h = await startHarness({ env: { LOG_LEVEL: 'error' } });
  try {
    const vod = await makeVod(h, h.company, 'bench');
    const user = await loginAs(h, h.company.client_id);
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    const results = [];
    // The smallest chunks show the per-request cost (token, Redis), the largest the cost of the bytes.
    for (const rendition of [vod.videos[0], vod.videos[vod.videos.length - 1]]) {
      results.push(await compare(await pairFor(h, base, vod, rendition, user.token)));
    }
    process.stdout.write(`${JSON.stringify({ connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, target: TARGET, results })}\n`);
  } finally {
    await h.close();
  }
}

const loadArg = process.argv.indexOf('--load');
const entry = loadArg >= 0
  ? generateLoad(JSON.parse(process.argv[loadArg + 1]) as Load).then((result) => new Promise<void>((r) => process.send!(result, () => r())))
  : main();
entry.then(() => process.exit(0), (err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
