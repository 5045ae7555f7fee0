// Benchmark of precise clips (figures, not pass/fail): a 60 s clip of a
// three-rendition ladder (240p/480p/720p, 2 s GOP, 25 fps) cut 700 ms into a
// GOP at both ends; prints the time from creation to `accuracy: frame`, the
// CPU the edge re-encodes took (per rendition and per edge GOP), and, as a
// same-run reference, the CPU of re-encoding the whole 60 s of the 240p
// rendition with the same encoder settings.
// Run: node --import tsx scripts/bench-precise.ts   (TEST_REDIS_URL defaults to 127.0.0.1:6379)
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startHarness, waitFor } from '../test/helpers/harness.js';
import { evenPlaylist, makeOnce } from '../test/helpers/hls-ladder.js';
import { put } from '../test/helpers/uneven.js';

const run = promisify(execFile);
const CHUNKS = 34; // 68 s: a 60 s clip with a chunk to spare at each side
const dir = path.join(os.tmpdir(), 'dvr-bench-precise-ladder');
const SIZES = ['426x240', '854x480', '1280x720'];

function makeLadder(): Promise<void> {
  return makeOnce(dir, 'p_2.m3u8', async (tmp) => {
    process.stdout.write(`encoding a ${CHUNKS * 2} s ladder into ${dir} ... `);
    await run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(CHUNKS * 2),
      '-filter_complex', `[0:v]split=3[a][b][c];[a]scale=${SIZES[0].replace('x', ':')}[a2];[b]scale=${SIZES[1].replace('x', ':')}[b2];[c]null[c2]`,
      '-map', '[a2]', '-map', '[b2]', '-map', '[c2]', '-map', '1:a', '-map', '1:a', '-map', '1:a',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
      '-b:v:0', '400k', '-b:v:1', '1200k', '-b:v:2', '2500k',
      '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '96k',
      '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-var_stream_map', 'v:0,a:0 v:1,a:1 v:2,a:2',
      '-hls_segment_filename', path.join(tmp, 'p_%v_%02d.ts'), path.join(tmp, 'p_%v.m3u8'),
    ]);
    console.log('done');
  });
}

const name = (v: number, i: number) => `p_${v}_${String(i).padStart(2, '0')}.ts`;

await makeLadder();
const h = await startHarness();
try {
  const stream = (await h.api('POST', '/streaming/streams', { name: 'bench-precise' })).json() as { id: number; renditions: { height?: number }[] };
  const s = Math.ceil(h.clock.now() / 1000) * 1000 + 3000; // whole second: the clip's start
  const t0 = s - 2000 - 700; // chunk 1 starts 700 ms before it
  h.clock.set(t0);
  for (let i = 0; i < CHUNKS; i++) {
    h.clock.advance(2000);
    for (const v of [0, 1, 2]) {
      await put(h, stream as never, name(v, i), readFileSync(path.join(dir, name(v, i))));
      await put(h, stream as never, `p_${v}.m3u8`, evenPlaylist(i, (n) => name(v, n), 2));
    }
  }
  await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}`)).json() as typeof stream;
    return view.renditions.length === 3 && view.renditions.every((r) => r.height);
  }, 'renditions probed', 60_000);
  const began = performance.now();
  const created = (await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: s / 1000, duration: 60, precise: true })).json() as { id: string };
  const frame = await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}/clip_recording/${created.id}`)).json() as Record<string, unknown>;
    return view.accuracy === 'frame' ? view : undefined;
  }, 'accuracy: frame', 600_000, 100);
  const wallMs = performance.now() - began;
  const cpu = JSON.parse((await h.ctx.redis.hget(h.ctx.keys.stream.clip(stream.id, created.id), 'precise_cpu_ms')) ?? '{}') as Record<string, number>;
  const total = Object.values(cpu).reduce((a, b) => a + b, 0);
  console.log(`60 s clip, 3 renditions, cut 700 ms into a GOP at both ends (2 edges per rendition)`);
  console.log(`  creation → accuracy: frame   ${(wallMs / 1000).toFixed(2)} s wall (load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)`);
  console.log(`  CPU of the edge re-encodes   ${(total / 1000).toFixed(2)} s in all`);
  for (const [pl, ms] of Object.entries(cpu)) console.log(`    ${pl}: ${(ms / 1000).toFixed(2)} s, ${(ms / 2000).toFixed(2)} s per edge GOP`);
  console.log(`  cut_start − start ${(Number(frame.cut_start) - s)} ms, real_duration ${frame.real_duration} s`);

  // Reference: the whole 60 s of the 240p rendition re-encoded with the edge settings.
  const concat = path.join(dir, 'ref-240.ts');
  await writeFile(concat, Buffer.concat(Array.from({ length: 31 }, (_, k) => readFileSync(path.join(dir, name(0, k + 1))))));
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'level+info', '-nostats', '-benchmark', '-y', '-i', concat,
    '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '400k', '-c:a', 'aac', '-b:a', '96k', '-f', 'mpegts', path.join(dir, 'ref-out.ts')]);
  const bench = /bench: utime=([0-9.]+)s stime=([0-9.]+)s/.exec(stderr);
  const refCpu = bench ? Number(bench[1]) + Number(bench[2]) : NaN;
  const mine = (Object.entries(cpu).find(([pl]) => pl === 'p_0')?.[1] ?? NaN) / 1000;
  console.log(`  reference: full re-encode of the 240p rendition (62 s) ${refCpu.toFixed(2)} s CPU; precise edges of 240p ${mine.toFixed(2)} s = ${(mine / refCpu * 100).toFixed(1)} % of it`);
} finally {
  await h.close();
}
