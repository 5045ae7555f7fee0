// Benchmark of the just-in-time MP4 (figures, not pass/fail), over real HTTP
// on 127.0.0.1:
//   - time to first byte and total time of the first request of a 60 s clip's
//     MP4 (the remux) and of a cached one, against `ffmpeg -c copy` of the
//     same chunks from a local file (the floor), as a ratio
//   - throughput of cached MP4 Range requests (bounded: 200 requests or 10 s)
// A 60 s ladder (2 s chunks) is encoded once into the temp folder and reused.
// Run: node --import tsx scripts/bench-mp4.ts   (REDIS_URL defaults to 127.0.0.1:6379)
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadClip } from '../src/clips/records.js';
import { loadConfig } from '../src/config.js';
import { deletePrefixAt } from '../src/redis/prefix.js';
import { ingestChunk, ingestPlaylist } from '../src/dvr/ingest.js';
import { loadRenditions } from '../src/dvr/renditions.js';
import { createStream, loadStream } from '../src/dvr/streams.js';
import { startService } from '../src/service.js';
import { clipRunStreams } from '../src/mp4/remux.js';
import { backgroundOf } from '../src/mp4/prebuild.js';
import { createCompany } from '../src/tenancy/companies.js';
import { curlLoad, hasCurl, LOAD, workerLoad } from './bench-mp4-load.js';
import { ensureLadder, LADDER_SECONDS, ladderChunks, ladderDir } from './bench-refs.js';

const run = promisify(execFile);
const SECONDS = LADDER_SECONDS;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

interface Timed { status: number; bytes: number; ttfbMs: number; totalMs: number }

/** One GET, timing the first body byte and the end; the body is counted, not kept. */
function timedGet(port: number, url: string, headers: Record<string, string> = {}): Promise<Timed> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: url, headers, agent }, (res) => {
      let bytes = 0;
      let ttfbMs = -1;
      res.on('data', (d: Buffer) => {
        if (ttfbMs < 0) ttfbMs = performance.now() - began;
        bytes += d.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ttfbMs, totalMs: performance.now() - began }));
    });
    req.on('error', reject);
  });
}

const ms = (n: number) => `${n.toFixed(1)} ms`;
const RUNS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function repeat<T>(times: number, f: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < times; i++) out.push(await f());
  return out;
}

async function main(): Promise<void> {
  await ensureLadder();
  const renditions = await Promise.all([0, 1, 2].map(ladderChunks));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dvr-bench-mp4-'));
  let fakeNow = Math.floor(Date.now() / 1000) * 1000 - SECONDS * 1000 - 10_000;
  const t0 = fakeNow;
  const prefix = `benchmp4${Date.now().toString(36)}`;
  const config = loadConfig({
    ...process.env, REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379', KEY_PREFIX: prefix,
    DATA_DIR: dataDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', PORT: '0', DEMO: '0',
  });
  const service = await startService(config, { clock: { now: () => fakeNow } });
  const { ctx } = service;
  try {
    const company = await createCompany(ctx, 'bench');
    const created = await createStream(ctx, company.client_id, { name: 'bench' });
    await ingestPlaylist(ctx, created, 'master.m3u8', await readFile(path.join(ladderDir, 'master.m3u8'), 'utf8'));
    for (let i = 0; i < renditions[0].length; i++) {
      fakeNow += 2000;
      const stream = (await loadStream(ctx, created.id))!;
      for (let v = 0; v < 3; v++) {
        const { uri, extinf } = renditions[v][i];
        await ingestChunk(ctx, stream, uri, await readFile(path.join(ladderDir, uri)));
        await ingestPlaylist(ctx, stream, `stream_${v}.m3u8`, `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:${i}\n${extinf}\n${uri}\n`);
      }
    }
    for (let tries = 0; tries < 200; tries++) {
      if ((await loadRenditions(ctx, created.id)).every((r) => r.height)) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    await service.app!.listen({ port: 0, host: '127.0.0.1' });
    const port = (service.app!.server.address() as { port: number }).port;
    // Clips of the same 30 chunks (their edges snap out to chunk bounds), each
    // with its own MP4, so each first request is a cold remux. Defaults: each
    // clip also queues its prebuild, which waits for a quiet moment; the
    // request right after the creation builds it first, and the queued
    // prebuild then finds the file.
    const windows = [[0, SECONDS], [1, SECONDS - 1], [0, SECONDS - 1], [1, SECONDS - 2], [2, SECONDS - 2]];
    const urlOf = (id: string) => `/rec/${company.client_id}_${created.id}/rec_${id}_master.mp4`;

    // The floor: the same chunks of the top rendition, one local file, one ffmpeg -c copy.
    const top = renditions[2];
    const joined = path.join(dataDir, 'floor.ts');
    await writeFile(joined, Buffer.concat(await Promise.all(top.map((c) => readFile(path.join(ladderDir, c.uri))))));
    const floorRun = async () => {
      const began = performance.now();
      await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'mpegts', '-i', joined, '-map', '0:v?', '-map', '0:a?',
        '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-movflags', '+faststart', '-f', 'mp4',
        path.join(dataDir, 'floor.mp4')]);
      return performance.now() - began;
    };

    // Each first request right after a floor run, so both see the machine alike.
    const floors: number[] = [];
    const clips: string[] = [];
    const firsts: Timed[] = [];
    for (let i = 0; i < RUNS; i++) {
      floors.push(await floorRun());
      const res = await service.app!.inject({
        method: 'PUT', url: `/streaming/streams/${created.id}/clip_recording`,
        headers: { authorization: `apikey ${company.api_key}` }, payload: { start: t0 / 1000 + windows[i][0], duration: windows[i][1] },
      });
      const clip = res.json() as { id: string; mp4_master: string; status: string };
      if (clip.status !== 'ready') throw new Error(`the clip is ${clip.status}, not ready: ${res.body}`);
      clips.push(clip.id);
      firsts.push(await timedGet(port, urlOf(clip.id)));
    }
    const floor = median(floors);
    await backgroundOf(ctx).idle();
    // Part of the first request's cost: the chunks' bytes out of Redis, one HGET at a time.
    const record = (await loadClip(ctx, created.id, clips[0]))!;
    const redisRead = median(await repeat(RUNS, async () => {
      const began = performance.now();
      for (const run of await clipRunStreams(ctx, record, record.renditions.at(-1)!.playlist)) for await (const _ of run);
      return performance.now() - began;
    }));

    const cached = await repeat(RUNS, () => timedGet(port, urlOf(clips[0])));
    if ([...firsts, ...cached].some((r) => r.status !== 200)) throw new Error('an MP4 request did not answer 200');
    const first = { ttfbMs: median(firsts.map((r) => r.ttfbMs)), totalMs: median(firsts.map((r) => r.totalMs)), bytes: firsts[0].bytes };
    const again = { ttfbMs: median(cached.map((r) => r.ttfbMs)), totalMs: median(cached.map((r) => r.totalMs)) };
    const url = urlOf(clips[0]);
    console.log(`clip: ${top.length} chunks, ${SECONDS} s, MP4 of ${(first.bytes / 1e6).toFixed(2)} MB; medians of ${RUNS} runs`);
    console.log(`floor   ffmpeg -c copy, local .ts file -> file: ${ms(floor)} (reading the chunks from Redis alone: ${ms(redisRead)})`);
    // TTFB is when the remux is done and served; total adds moving the file
    // over loopback, which the floor (ffmpeg writing a local file) never pays.
    console.log(`first   request (remux): TTFB ${ms(first.ttfbMs)} = ${(first.ttfbMs / floor).toFixed(2)}x the floor, total ${ms(first.totalMs)} = ${(first.totalMs / floor).toFixed(2)}x the floor (target 1.3x)`);
    console.log(`cached  request:         TTFB ${ms(again.ttfbMs)}, total ${ms(again.totalMs)} = ${(again.totalMs / floor).toFixed(3)}x the floor`);

    const curl = process.env.BENCH_CLIENT !== 'node' && (await hasCurl());
    const client = curl ? `${LOAD.connections} curl processes` : `a worker thread, ${LOAD.connections} connections (no curl found)`;
    console.log(`cached Range requests, at most ${LOAD.requests} or ${LOAD.maxMs / 1000} s each, client: ${client}`);
    const ranges = [['4 MiB ranges', 4 << 20], ['1 MiB ranges', 1 << 20], ['64 KiB ranges', 64 << 10], ['whole file (bytes=0-)', 0]] as const;
    for (const [label, rangeBytes] of ranges) {
      const opts = { port, path: url, size: first.bytes, rangeBytes };
      const r = curl ? await curlLoad(opts, dataDir) : await workerLoad(opts);
      if (r.error) throw new Error(r.error);
      console.log(`  ${label.padEnd(22)} ${r.done} requests in ${r.seconds.toFixed(2)} s: `
        + `${(r.bytes / r.seconds / 1e9).toFixed(2)} GB/s, ${(r.done / r.seconds).toFixed(0)} req/s`);
    }
  } finally {
    await service.close();
    await deletePrefixAt(config.redisUrl, prefix);
    agent.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
