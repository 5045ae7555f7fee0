// Benchmark of the service as `npm start` runs it (defaults: MP4 prebuild
// on, chunk and playlist caches on), on 127.0.0.1, printing figures and
// judging nothing. Each figure comes with its reference measured in the same
// run, as a ratio:
//   - clip creation (median, p99): a burst of 200 ready clips of real media
//     (each queues an MP4 prebuild), and 50 concurrent creators; against
//     GET of a clip sent the same way (the same authentication and Redis
//     reads, no background work)
//   - requests/s of a ready clip's media playlist, a live playlist of a 30 s
//     and of a 4 h window (a chunk arriving every 2 s meanwhile), and a
//     700 KB chunk: against a bare Node http server sending the same bytes
//     from memory, and nginx sending them from disk (wrk, 1 thread, 16
//     connections, 3 s a run, three interleaved rounds), with the CPU each
//     request costs the service and the bare server (for the chunk and the
//     ready playlist also against the same bare server run inside the
//     service's process: the part of the gap that is the process, not the
//     service's code); and the 4 h window's
//     delta update (?_HLS_skip=YES, what a polling player that supports it
//     fetches), plain and gzip, against the 30 s window's full playlist
// `npm run bench` then runs bench-mp4.ts (first MP4 against bare ffmpeg).
// Run: node --import tsx scripts/bench.ts   (REDIS_URL defaults to 127.0.0.1:6379)
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { ingestChunk, ingestPlaylist } from '../src/dvr/ingest.js';
import { loadRenditions } from '../src/dvr/renditions.js';
import { createStream, loadStream, type StreamRecord } from '../src/dvr/streams.js';
import { backgroundOf } from '../src/mp4/prebuild.js';
import { remuxesStarted, runningFfmpegCount } from '../src/mp4/remux.js';
import { deletePrefixAt } from '../src/redis/prefix.js';
import { startService } from '../src/service.js';
import { createCompany } from '../src/tenancy/companies.js';
import {
  bareNode, bareNodeHere, closeRequests, cpuSecondsOf, request, ensureLadder, hasWrk, interleaved, ladderChunks, ladderDir, medianRps, nginxStatic, percentile, ratio, ratios, ROUNDS, wrk, WRK, type WrkResult,
} from './bench-refs.js';

const CHUNK_MS = 2000;
const HOURS = 4;
const BURST = 200;
const CREATORS = 50;
const PER_CREATOR = 4;
const BIG_CHUNK = 700 * 1024;
/** How long the 4 h fill's background backlog may take to drain before serving is measured. */
const DRAIN_LIMIT_MS = 300_000;
/** Latencies (ms, sorted) of `loops` concurrent loops making `each` calls. */
async function latencies(loops: number, each: number, call: (i: number) => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: loops }, async () => {
    for (let k = 0; k < each; k++) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      times.push(performance.now() - t0);
    }
  }));
  return times.sort((a, b) => a - b);
}

const fmt = (sorted: number[]) => `median ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms`;
/** Median rate of a measurement's rounds, and what it moved. */
const rate = (runs: WrkResult[]) => {
  const rps = medianRps(runs);
  const run = runs.find((r) => r.rps === rps)!;
  return `${rps.toFixed(0)} req/s (${(run.bytesPerSecond / 1e6).toFixed(0)} MB/s)`;
};

async function main(): Promise<void> {
  if (!(await hasWrk())) throw new Error('wrk is missing: run `bash scripts/ensure.sh --need-wrk` (apt-get install wrk)');
  await ensureLadder();
  const ladder = await Promise.all([0, 1, 2].map(ladderChunks));
  const real = await Promise.all(ladder.map((chunks) => Promise.all(chunks.map((c) => readFile(path.join(ladderDir, c.uri))))));
  let fakeNow = Date.now() - HOURS * 3600_000 - 60_000;
  const prefix = `bench${Date.now().toString(36)}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dvr-bench-'));
  const config = loadConfig({
    ...process.env, REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379', KEY_PREFIX: prefix,
    DATA_DIR: dataDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', PORT: '0',
  });
  // The service's clock moves only as chunks are pushed, so windows stay put between measurements.
  const service = await startService(config, { clock: { now: () => fakeNow } });
  const { ctx } = service;
  const stops: Array<() => Promise<void>> = [];
  try {
    const company = await createCompany(ctx, 'bench');
    const standIn = Buffer.alloc(2048, 0x47);
    /**
     * Pushes chunks first..first+count-1 of every rendition, `bytes(v, i)`
     * each, 2 s apart from the clock's time, as an encoder would in one
     * go: the uploads together, then one playlist per rendition listing
     * them (with program date times), which commits them.
     */
    const pushBatch = async (stream: StreamRecord, first: number, count: number, bytes: (v: number, i: number) => Buffer) => {
      const startAt = fakeNow;
      const indices = Array.from({ length: count }, (_, k) => first + k);
      await Promise.all([0, 1, 2].flatMap((v) => indices.map((i) => ingestChunk(ctx, stream, `s${v}_${i}.ts`, bytes(v, i)))));
      fakeNow = startAt + count * CHUNK_MS;
      await Promise.all([0, 1, 2].map((v) => ingestPlaylist(ctx, stream, `s${v}.m3u8`, [
        '#EXTM3U', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${first}`,
        ...indices.flatMap((i, k) => [`#EXT-X-PROGRAM-DATE-TIME:${new Date(startAt + k * CHUNK_MS).toISOString()}`, '#EXTINF:2.000,', `s${v}_${i}.ts`]),
      ].join('\n') + '\n')));
    };
    // Stream A: a 4 h window of stand-in chunks (clip creation and playlists
    // read only the index), opened and closed by the real 60 s ladder.
    const a = await createStream(ctx, company.client_id, { name: 'four hours', dvr_duration: HOURS * 3600 });
    const total = (HOURS * 3600_000) / CHUNK_MS;
    const n = real[0].length;
    process.stdout.write(`filling a ${HOURS} h DVR: ${total} chunks x 3 renditions ... `);
    const fillStart = performance.now();
    const realFrom = fakeNow + (total - n) * CHUNK_MS;
    const aBytes = (v: number, i: number) => (i < 2 ? real[v][i] : i >= total - n ? real[v][i - (total - n)] : standIn);
    for (let i = 0; i < total; i += 10) await pushBatch((await loadStream(ctx, a.id))!, i, Math.min(10, total - i), aBytes);
    // Stream B: a 30 s window, its newest top chunk 700 KB.
    const b = await createStream(ctx, company.client_id, { name: 'thirty seconds', dvr_duration: 30 });
    const big = Buffer.alloc(BIG_CHUNK, 0x47);
    await pushBatch((await loadStream(ctx, b.id))!, 0, 10, (v, i) => (i < 2 ? real[v][i] : standIn));
    await pushBatch((await loadStream(ctx, b.id))!, 10, 5, (v, i) => (i === 14 && v === 2 ? big : standIn));
    console.log(`${((performance.now() - fillStart) / 1000).toFixed(1)} s`);
    for (let tries = 0; tries < 100; tries++) {
      const r = [...(await loadRenditions(ctx, a.id)), ...(await loadRenditions(ctx, b.id))];
      if (r.length === 6 && r.every((x) => x.height)) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    await service.app!.listen({ port: 0, host: '127.0.0.1' });
    const port = (service.app!.server.address() as { port: number }).port;
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `apikey ${company.api_key}`, 'content-type': 'application/json' };
    const clipUrl = `/streaming/streams/${a.id}/clip_recording`;
    const from = Math.ceil(realFrom / 1000);
    // What is served, fetched once, for the references to send the same bytes.
    const clip60 = JSON.parse((await request(port, 'PUT', clipUrl, auth, JSON.stringify({ duration: 60, start: from }))).body.toString());
    const owner = `${company.client_id}`;
    const liveOf = (s: StreamRecord) => `/live/${owner}_${s.id}/${s.play_key}/media_3_720.m3u8`;
    const urls: Record<string, string> = {
      'clip.m3u8': new URL(clip60.hls_master).pathname.replace('master', 'media_3_720'),
      'live30.m3u8': liveOf(b),
      'live4h.m3u8': liveOf(a),
    };
    const live30 = (await request(port, 'GET', urls['live30.m3u8'])).body.toString();
    const bigName = live30.trim().split('\n').at(-1)!;
    urls['chunk.ts'] = urls['live30.m3u8'].replace('media_3_720.m3u8', bigName);
    // Its MP4 prebuild runs first (bounded wait), so it does not run during the figures.
    await Promise.race([backgroundOf(ctx).idle(), new Promise((r) => setTimeout(r, 30_000))]);
    const files = await mkdtemp(path.join(os.tmpdir(), 'dvr-bench-files-'));
    await chmod(files, 0o755);
    const sizes: Record<string, number> = {};
    for (const [name, url] of Object.entries(urls)) {
      const res = await request(port, 'GET', url);
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      sizes[name] = res.body.length;
      await writeFile(path.join(files, name), res.body);
      await chmod(path.join(files, name), 0o644);
    }
    const types = Object.fromEntries(Object.keys(urls).map((n) => [n, n.endsWith('.ts') ? 'video/mp2t' : 'application/vnd.apple.mpegurl']));
    const bare = await bareNode(files, types);
    stops.push(bare.stop);
    const edge = await nginxStatic(files);
    stops.push(edge.stop);
    const here = await bareNodeHere(files, types);
    stops.push(here.stop);
    stops.push(() => rm(files, { recursive: true, force: true }));

    // While the live playlists are measured, a chunk arrives every 2 s on both streams.
    let ticks = 0;
    const ticker = async <T>(during: () => Promise<T>): Promise<T> => {
      let stop = false;
      const loop = (async () => {
        for (let i = 0; !stop && i < 100; i++) {
          await new Promise((r) => setTimeout(r, CHUNK_MS));
          if (stop) break;
          const at = fakeNow;
          await pushBatch((await loadStream(ctx, a.id))!, total + ticks, 1, () => standIn);
          fakeNow = at;
          await pushBatch((await loadStream(ctx, b.id))!, 15 + ticks, 1, () => standIn);
          ticks++;
        }
      })();
      try {
        return await during();
      } finally {
        stop = true;
        await loop;
      }
    };
    // The 4 h fill queued a tile per chunk, 7,200 in seconds; a stream filled
    // in real time queues one every 2 s, and its backlog is long gone when
    // viewers arrive. That steady state is what is measured: the backlog is
    // left to drain first (bounded), and what is left is said with the figures.
    const background = backgroundOf(ctx);
    const backlog = background.pending + background.active;
    const backlogStart = performance.now();
    await Promise.race([background.idle(), new Promise((r) => setTimeout(r, DRAIN_LIMIT_MS))]);
    console.log(`\nbackground: the 4 h fill's ${backlog} queued task(s) (thumbnail tiles) took ${((performance.now() - backlogStart) / 1000).toFixed(0)} s to drain (at most ${DRAIN_LIMIT_MS / 1000} s waited); `
      + `as serving starts ${background.pending} queued, ${background.active} running; rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`);
    console.log(`serving (wrk, 1 thread, ${WRK.connections} connections, ${WRK.seconds} s a run, ${ROUNDS} interleaved rounds: each ratio is taken within a round, median (lowest-highest)); `
      + 'references: bare Node http from memory, nginx from disk (sendfile, 1 worker)');
    // CPU per request: the service's process (this one: its requests and
    // whatever background work runs in it meanwhile; ffmpeg children not
    // counted) against the bare Node server's, the same bytes: a figure a
    // busy machine disturbs less than rates.
    const ownCpu = () => {
      const used = process.cpuUsage();
      return (used.user + used.system) / 1e6;
    };
    const cpuPerRequest: Record<string, { ours: number[]; node: number[]; here: number[] }> = {};
    const withCpu = (name: string, who: 'ours' | 'node' | 'here', run: () => Promise<WrkResult>) => async () => {
      const cpu = who === 'node' ? () => cpuSecondsOf(bare.pid) : async () => ownCpu();
      const before = await cpu();
      const result = await run();
      const after = await cpu();
      const into = (cpuPerRequest[name] ??= { ours: [], node: [], here: [] })[who];
      if (before !== null && after !== null) into.push(((after - before) * 1e6) / result.requests);
      return result;
    };
    const cpuFigure = (name: string) => {
      const c = cpuPerRequest[name];
      if (!c || c.ours.length === 0 || c.node.length === 0) return '';
      const med = (xs: number[]) => percentile([...xs].sort((x, y) => x - y), 50);
      const inHere = c.here.length > 0 ? `, ${med(c.here).toFixed(1)} us in the service's process` : '';
      return `; CPU per request ${med(c.ours).toFixed(1)} us against ${med(c.node).toFixed(1)} us (${ratio(med(c.node), med(c.ours))})${inHere}`;
    };
    const ourUrl = (name: string) => `${base}${urls[name]}`;
    for (const [label, name] of [[`700 KB chunk (${sizes['chunk.ts']} B)`, 'chunk.ts'], [`ready clip media playlist (60 s, ${sizes['clip.m3u8']} B)`, 'clip.m3u8']]) {
      const runs = await interleaved({
        ours: withCpu(name, 'ours', () => wrk(ourUrl(name))),
        node: withCpu(name, 'node', () => wrk(bare.url(name))),
        nginx: () => wrk(edge.url(name)),
        here: withCpu(name, 'here', () => wrk(here.url(name))),
      });
      console.log(`  ${label}: service ${rate(runs.ours)} = ${ratios(runs.ours, runs.node)} bare node (${rate(runs.node)}), ${ratios(runs.ours, runs.nginx)} nginx (${rate(runs.nginx)}), `
        + `${ratios(runs.ours, runs.here)} the bare server run inside the service's process (${rate(runs.here)})${cpuFigure(name)}`);
    }
    const live = await ticker(() => interleaved({
      ours30: withCpu('live30.m3u8', 'ours', () => wrk(ourUrl('live30.m3u8'))),
      ours4h: () => wrk(ourUrl('live4h.m3u8')),
      node30: withCpu('live30.m3u8', 'node', () => wrk(bare.url('live30.m3u8'))),
      node4h: () => wrk(bare.url('live4h.m3u8')),
      nginx30: () => wrk(edge.url('live30.m3u8')),
      nginx4h: () => wrk(edge.url('live4h.m3u8')),
    }));
    console.log(`  live playlist, 30 s window (${sizes['live30.m3u8']} B): service ${rate(live.ours30)} = ${ratios(live.ours30, live.node30)} bare node (${rate(live.node30)}), ${ratios(live.ours30, live.nginx30)} nginx${cpuFigure('live30.m3u8')} (the service's includes the chunks arriving)`);
    console.log(`  live playlist, 4 h window (${sizes['live4h.m3u8']} B): service ${rate(live.ours4h)} = ${ratios(live.ours4h, live.node4h)} bare node (${rate(live.node4h)}), ${ratios(live.ours4h, live.nginx4h)} nginx`);
    // Players send Accept-Encoding: gzip (browsers, AVPlayer, ExoPlayer): the
    // 4 h text shrinks about 4 times. A polling player that supports delta
    // updates (hls.js, AVPlayer, ExoPlayer) asks for one after its first load.
    const gzip = { 'accept-encoding': 'gzip' };
    const deltaPath = `${urls['live4h.m3u8']}?_HLS_skip=YES`;
    const deltaBody = (await request(port, 'GET', deltaPath)).body.toString();
    if (!deltaBody.includes('#EXT-X-SKIP:')) throw new Error('the 4 h window answered _HLS_skip=YES with no delta update');
    const zipped = await ticker(() => interleaved({
      // The delta's reference, in the same rounds.
      plain30: () => wrk(ourUrl('live30.m3u8')),
      gzip30: () => wrk(ourUrl('live30.m3u8'), gzip),
      gzip4h: () => wrk(ourUrl('live4h.m3u8'), gzip),
      delta: () => wrk(`${base}${deltaPath}`),
      deltaGzip: () => wrk(`${base}${deltaPath}`, gzip),
    }));
    console.log(`  live playlists with gzip: 30 s window ${rate(zipped.gzip30)}, 4 h window ${rate(zipped.gzip4h)}`);
    console.log(`  4 h window against 30 s window: service ${ratios(live.ours4h, live.ours30)} plain, ${ratios(zipped.gzip4h, zipped.gzip30)} gzip (target >= 0.8x); `
      + `the same bytes from bare node ${ratios(live.node4h, live.node30)}, from nginx ${ratios(live.nginx4h, live.nginx30)} (what sending 200 KB instead of 600 B costs by itself); `
      + `${ticks} chunks arrived meanwhile; targets: chunk >= 0.5x bare node, ready playlist >= 0.7x bare node`);
    console.log(`  4 h window's delta update (?_HLS_skip=YES, ${Buffer.byteLength(deltaBody)} B): service ${rate(zipped.delta)} plain = ${ratios(zipped.delta, zipped.plain30)} the 30 s window's full playlist, `
      + `${rate(zipped.deltaGzip)} gzip = ${ratios(zipped.deltaGzip, zipped.gzip30)}`);
    // Creation last: the prebuilds it queues (400 of them) run on after it,
    // and must not weigh on the serving figures above.
    const made: Array<{ id: string; renditions: string[] }> = [];
    const create = async (i: number) => {
      const res = await request(port, 'PUT', clipUrl, auth, JSON.stringify({ duration: 4 + (i % 9), start: from + (i % 40) }));
      if (res.status !== 200) throw new Error(`clip creation answered ${res.status}: ${res.body}`);
      const clip = JSON.parse(res.body.toString());
      if (clip.status !== 'ready') throw new Error(`a clip of the past is ${clip.status}`);
      made.push(clip);
    };
    // The reference: reading a clip back, sent the same way: the same
    // authentication, stream and clip reads in Redis, and no background work.
    let readBack = '';
    const health = async () => {
      if ((await request(port, 'GET', readBack, auth)).status !== 200) throw new Error(`${readBack} failed`);
    };
    await create(0);
    readBack = `${clipUrl}/${made[0].id}`;
    await latencies(1, 20, health);
    let peakFfmpeg = 0;
    const sampler = setInterval(() => (peakFfmpeg = Math.max(peakFfmpeg, runningFfmpegCount())), 20);
    const remuxesBefore = remuxesStarted();
    console.log(`\nclip creation, defaults (MP4 prebuild on, ${config.backgroundConcurrency} background task(s) at once on ${os.availableParallelism()} cores); reference: GET of a clip (auth, stream and clip read from Redis) sent the same way`);
    const burstRef = await latencies(1, BURST, health);
    const burst = await latencies(1, BURST, create);
    console.log(`  burst of ${BURST} ready clips, one after another: ${fmt(burst)}; GET clip ${fmt(burstRef)}; `
      + `ratio median ${ratio(percentile(burst, 50), percentile(burstRef, 50))}, p99 ${ratio(percentile(burst, 99), percentile(burstRef, 99))} (target: median < 5 ms, p99 < 20 ms)`);
    const concRef = await latencies(CREATORS, PER_CREATOR, health);
    const conc = await latencies(CREATORS, PER_CREATOR, create);
    console.log(`  ${CREATORS} concurrent creators x ${PER_CREATOR} clips: ${fmt(conc)}; GET clip ${fmt(concRef)}; `
      + `ratio median ${ratio(percentile(conc, 50), percentile(concRef, 50))}, p99 ${ratio(percentile(conc, 99), percentile(concRef, 99))}`);
    const drainStart = performance.now();
    await Promise.race([backgroundOf(ctx).idle(), new Promise((r) => setTimeout(r, 120_000))]);
    clearInterval(sampler);
    const store = service.mp4.cache.store;
    const present = (await Promise.all(made.map((c) => store.has(`${a.id}/${c.id}_${c.renditions.at(-1)}`)))).filter(Boolean).length;
    const queue = backgroundOf(ctx);
    const left = queue.pending + queue.active;
    console.log(`  prebuilds: ${remuxesStarted() - remuxesBefore} remuxes for ${made.length} clips, at most ${peakFfmpeg} ffmpeg at once; `
      + (left === 0 ? `queue drained ${((performance.now() - drainStart) / 1000).toFixed(1)} s after the last creation` : `${left} still queued after 120 s (dropped at shutdown: the first request of each builds it)`)
      + `; ${present} MP4s in the cache now (MP4_CACHE_BYTES bounds it)`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await service.close();
    await deletePrefixAt(config.redisUrl, prefix);
    closeRequests();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
