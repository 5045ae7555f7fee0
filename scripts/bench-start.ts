// A ready clip's media playlist as `npm start` serves it: the service started
// as a user starts it (`node --import tsx src/main.ts`, defaults:
// API_PROCESSES one per core on one port, the workers, MP4 prebuilds,
// thumbnails), fed a real three-rendition ladder pushed over HTTP one chunk
// every 2 s, as an encoder on another machine would (the demo encoder is off:
// its x264 would take this machine's cores, which a producer's OBS does not),
// against a bare Node http server sending the same bytes from memory in a
// process of its own (wrk, 1 thread, 16 connections, interleaved rounds, as
// bench.ts). bench.ts measures one api process inside its own process; this
// is what the default number of them gives. Printed, not judged.
// Run: node --import tsx scripts/bench-start.ts   (REDIS_URL defaults to 127.0.0.1:6379)
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deletePrefixAt } from '../src/redis/prefix.js';
import { bareNode, closeRequests, ensureLadder, freePort, hasWrk, interleaved, ladderChunks, ladderDir, medianRps, ratios, request, ROUNDS, sleep, WRK, wrk } from './bench-refs.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const CLIP_SECONDS = 30;
const CHUNK_MS = 2000;
const run = promisify(execFile);

async function until<T>(what: string, limitMs: number, attempt: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const got = await attempt().catch(() => null);
    if (got !== null) return got;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${limitMs / 1000} s`);
    await sleep(2000);
  }
}

async function main(): Promise<void> {
  if (!(await hasWrk())) throw new Error('wrk is missing: run `bash scripts/ensure.sh --need-wrk` (apt-get install wrk)');
  await ensureLadder();
  const ladder = await Promise.all([0, 1, 2].map(async (v) => Promise.all((await ladderChunks(v)).map((c) => readFile(path.join(ladderDir, c.uri))))));
  const port = await freePort();
  const prefix = `benchstart${Date.now().toString(36)}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dvr-bench-start-'));
  const env = { ...process.env, REDIS_URL, KEY_PREFIX: prefix };
  let printed = '';
  const service = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', RTMP_PORT: '0', SRT_PORT: '0', DEMO: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, stopped as a terminal would stop it.
    detached: true,
  });
  service.stdout!.on('data', (d) => (printed = (printed + d).slice(-4000)));
  service.stderr!.on('data', (d) => (printed = (printed + d).slice(-4000)));
  const exited = new Promise((r) => service.once('exit', r));
  let stopBare: (() => Promise<void>) | undefined;
  try {
    await until('the service to answer', 60_000, async () => ((await request(port, 'GET', '/healthz')).status === 200 ? true : null));
    // A company from the admin CLI, a stream from the API, as a new user makes them.
    const company = JSON.parse((await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'company', 'create', '--name', 'bench'], { env })).stdout) as { api_key: string };
    const auth = { authorization: `apikey ${company.api_key}`, 'content-type': 'application/json' };
    const created = await request(port, 'POST', '/streaming/streams', auth, JSON.stringify({ name: 'bench', dvr_duration: 300 }));
    if (created.status !== 200 && created.status !== 201) throw new Error(`stream creation answered ${created.status}: ${created.body}`);
    const stream = JSON.parse(created.body.toString()) as { id: number; push_url_hls: string };
    const ingest = new URL(stream.push_url_hls).pathname;
    const chunks = CLIP_SECONDS / (CHUNK_MS / 1000) + 2;
    process.stdout.write(`pushing ${chunks} chunks of a three-rendition ladder, one every ${CHUNK_MS / 1000} s ... `);
    for (let i = 0; i < chunks; i++) {
      const began = Date.now();
      for (const v of [0, 1, 2]) {
        await request(port, 'PUT', `${ingest}s${v}_${i}.ts`, {}, ladder[v][i % ladder[v].length]);
        const listed = Array.from({ length: Math.min(i + 1, 6) }, (_, k) => i - Math.min(i, 5) + k);
        await request(port, 'PUT', `${ingest}s${v}.m3u8`, {}, ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${listed[0]}`,
          ...listed.flatMap((k) => ['#EXTINF:2.000,', `s${v}_${k}.ts`])].join('\n') + '\n');
      }
      await sleep(Math.max(0, CHUNK_MS - (Date.now() - began)));
    }
    console.log('done');
    const res = await request(port, 'PUT', `/streaming/streams/${stream.id}/clip_recording`, auth, JSON.stringify({ start: Math.floor(Date.now() / 1000) - CLIP_SECONDS - 2, duration: CLIP_SECONDS }));
    const clip = JSON.parse(res.body.toString()) as { status: string; hls_master: string; renditions: string[] };
    if (res.status !== 200 || clip.status !== 'ready') throw new Error(`the clip answered ${res.status}: ${res.body}`);
    const url = new URL(clip.hls_master).pathname.replace('master', clip.renditions.at(-1)!);
    const playlist = await request(port, 'GET', url);
    if (playlist.status !== 200) throw new Error(`${url} answered ${playlist.status}`);
    await writeFile(path.join(dataDir, 'clip.m3u8'), playlist.body);
    const bare = await bareNode(dataDir, { 'clip.m3u8': 'application/vnd.apple.mpegurl' });
    stopBare = bare.stop;
    const processes = process.env.API_PROCESSES ?? `${os.availableParallelism()} (one per core)`;
    console.log(`ready clip media playlist as npm start serves it (${playlist.body.length} B; API_PROCESSES ${processes}); `
      + `wrk, 1 thread, ${WRK.connections} connections, ${WRK.seconds} s a run, ${ROUNDS} interleaved rounds`);
    const runs = await interleaved({ ours: () => wrk(`http://127.0.0.1:${port}${url}`), node: () => wrk(bare.url('clip.m3u8')) });
    console.log(`  service ${medianRps(runs.ours).toFixed(0)} req/s = ${ratios(runs.ours, runs.node)} bare node (${medianRps(runs.node).toFixed(0)} req/s); target >= 0.7x`);
  } catch (err) {
    console.error(`the service printed:\n${printed}`);
    throw err;
  } finally {
    closeRequests();
    await stopBare?.();
    try {
      process.kill(-service.pid!, 'SIGINT');
    } catch {
      // Gone already.
    }
    await Promise.race([exited, sleep(20_000)]);
    try {
      process.kill(-service.pid!, 'SIGKILL');
    } catch {
      // Stopped as asked.
    }
    await deletePrefixAt(REDIS_URL, prefix).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
