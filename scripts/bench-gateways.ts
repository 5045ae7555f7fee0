// What the RTMP gateway costs: CPU seconds per media second of one "source"
// stream (stream copy) and one "abr" stream (a ladder), against the same
// run's reference (ffmpeg decoding the same file, the cheapest thing that
// touches every frame); then how many "source" streams are packaged at once
// without losing a chunk (bounded: at most 8 streams, 15 s each). Prints
// figures, judges nothing. Needs Redis (TEST_REDIS_URL or 127.0.0.1:6379).
//
//   npm run bench:gateways
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gatewayChildPids } from '../src/gateways/packager.js';
import { freePort, startLiveService, until, type LiveService } from '../test/helpers/live-service.js';

const run = promisify(execFile);
const MEDIA_S = Number(process.env.BENCH_MEDIA_S ?? 15);
const CHUNK_S = 1;
const MAX_STREAMS = 8;
const TICK = 100; // USER_HZ on Linux

/** utime + stime of a process, seconds (0 once it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return 0;
  }
}

/** Publishes the file over RTMP (stream copy: the publisher itself costs next to nothing). */
function publish(file: string, url: string) {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url], { stdio: 'ignore' });
  return new Promise<number | null>((resolve) => child.once('exit', resolve));
}

/** Runs publishes of `file` into `n` new streams; CPU of their packagers and the chunks each got. */
async function measure(s: LiveService, file: string, n: number, transcode: 'source' | 'abr') {
  const streams = [];
  for (let i = 0; i < n; i++) {
    const stream = (await s.api('POST', '/streaming/streams', { name: `bench ${transcode} ${i}` })).body;
    if (transcode === 'abr') await s.service.ctx.redis.hset(s.service.ctx.keys.stream.meta(stream.id), 'transcode', 'abr');
    streams.push(stream);
  }
  const seen = new Map<number, number>();
  const sampler = setInterval(() => {
    for (const pid of gatewayChildPids()) seen.set(pid, Math.max(seen.get(pid) ?? 0, cpuSeconds(pid)));
  }, 200);
  const nodeBefore = process.cpuUsage();
  await Promise.all(streams.map((st) => publish(file, st.push_url)));
  // Until every packager has sent its last chunk (a ladder may be behind), at most a minute.
  await until('the packagers to finish', async () => gatewayChildPids().length === 0, 60_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(sampler);
  const node = process.cpuUsage(nodeBefore);
  const chunks = [];
  for (const st of streams) {
    const body = (await s.api('GET', `/streaming/streams/${st.id}`)).body;
    const counts = [];
    for (const r of body.renditions) {
      const playlist = (await s.service.ctx.redis.hkeys(s.service.ctx.keys.stream.renditionSeq(st.id)));
      counts.push(...await Promise.all(playlist.map((p) => s.service.ctx.redis.zcard(s.service.ctx.keys.stream.index(st.id, p)))));
      break;
    }
    chunks.push(counts.length ? Math.min(...counts) : 0);
  }
  const packagers = [...seen.values()].reduce((a, b) => a + b, 0);
  return { packagers, service: (node.user + node.system) / 1e6, chunks };
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-gw-'));
  const file = path.join(dir, 'source.flv');
  // 720p25 H.264 + AAC, a keyframe a second: what OBS sends with its defaults.
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=25:duration=${MEDIA_S}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${MEDIA_S}`, '-c:v', 'libx264', '-preset', 'veryfast',
    '-b:v', '2500k', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', file]);
  const refStart = Date.now();
  const ref = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 'null', '-'], { stdio: 'ignore' });
  let refCpu = 0;
  const refSampler = setInterval(() => (refCpu = Math.max(refCpu, cpuSeconds(ref.pid!))), 50);
  await new Promise((r) => ref.once('exit', r));
  clearInterval(refSampler);
  console.log(`reference: decoding the ${MEDIA_S} s 720p source once costs ${refCpu.toFixed(2)} CPU s (${((refCpu / MEDIA_S) * 100).toFixed(1)}% of a core), ${Date.now() - refStart} ms`);

  const s = await startLiveService({ RTMP_PORT: String(await freePort()), GATEWAY_CHUNK_SECONDS: String(CHUNK_S), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  try {
    await until('the RTMP server', async () => s.service.gateways?.rtmp !== undefined, 5000);
    let baseline = 0;
    for (const mode of ['source', 'abr'] as const) {
      const m = await measure(s, file, 1, mode);
      if (mode === 'source') baseline = m.chunks[0];
      const perMediaS = m.packagers / MEDIA_S;
      console.log(`${mode}: packaging ${perMediaS.toFixed(3)} CPU s per media second (${(perMediaS * 100).toFixed(1)}% of a core; ${(m.packagers / Math.max(refCpu, 0.01)).toFixed(2)}x the reference decode), service process ${(m.service / MEDIA_S).toFixed(3)} CPU s per media second, ${m.chunks[0]} chunks of ~${MEDIA_S / CHUNK_S}`);
    }
    // Capacity: streams at once until one gets fewer chunks than a stream alone did (or the bound).
    const expected = baseline;
    for (let n = 1; n <= MAX_STREAMS; n *= 2) {
      const m = await measure(s, file, n, 'source');
      const worst = Math.min(...m.chunks);
      const lost = worst < expected;
      console.log(`${n} source stream(s) at once: packagers ${(m.packagers / MEDIA_S).toFixed(3)} CPU s per media second in all, fewest chunks in a stream ${worst} (expected >= ${expected})${lost ? ': LOST CHUNKS' : ''}`);
      if (lost) break;
    }
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
