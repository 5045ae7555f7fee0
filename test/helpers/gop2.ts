// A three-rendition ladder with a keyframe every 2 s and 2 s chunks (25 fps,
// AAC audio), made by ffmpeg once and kept in fixtures/media/gop2, and a
// pusher that lays its chunks at chosen instants of the (fake) clock.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fixtures } from '../../fixtures/make.js';
import type { StreamView } from '../../src/dvr/streams.js';
import type { Harness } from './harness.js';
import { put } from './uneven.js';

const run = promisify(execFile);
const dir = path.join(path.dirname(fixtures.ladderDir), 'gop2');
export const GOP2_CHUNKS = 8;
export const GOP2_CHUNK_MS = 2000;
export const FRAME_MS = 40;

let cache: Buffer[][] | undefined;

/** Chunk bytes of renditions 0 (320x180), 1 (240x136), 2 (160x90): 8 chunks of 2 s each. */
export async function gop2Ladder(): Promise<Buffer[][]> {
  if (cache) return cache;
  if (!existsSync(path.join(dir, 'g_2.m3u8'))) {
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String((GOP2_CHUNKS * GOP2_CHUNK_MS) / 1000),
      '-filter_complex', '[0:v]split=3[a][b][c];[b]scale=240:136[b2];[c]scale=160:90[c2]',
      '-map', '[a]', '-map', '[b2]', '-map', '[c2]', '-map', '1:a', '-map', '1:a', '-map', '1:a',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p', '-b:v', '300k',
      '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '64k',
      '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-var_stream_map', 'v:0,a:0 v:1,a:1 v:2,a:2',
      '-hls_segment_filename', path.join(tmp, 'g_%v_%02d.ts'), path.join(tmp, 'g_%v.m3u8'),
    ]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  cache = [0, 1, 2].map((v) =>
    Array.from({ length: GOP2_CHUNKS }, (_, i) => readFileSync(path.join(dir, `g_${v}_${String(i).padStart(2, '0')}.ts`))));
  return cache;
}

const name = (v: number, i: number) => `g_${v}_${String(i).padStart(2, '0')}.ts`;

function playlist(v: number, index: number): string {
  const first = Math.max(0, index - 5);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${first}`];
  for (let i = first; i <= index; i++) lines.push('#EXTINF:2.000000,', name(v, i));
  return lines.join('\n') + '\n';
}

/** Pushes every chunk as ffmpeg would, the first one starting at `t0` (unix ms; the clock is set there). */
export async function pushGop2(h: Harness, stream: StreamView, t0: number): Promise<void> {
  const L = await gop2Ladder();
  h.clock.set(t0);
  for (let i = 0; i < GOP2_CHUNKS; i++) {
    h.clock.advance(GOP2_CHUNK_MS);
    for (const v of [0, 1, 2]) {
      await put(h, stream, name(v, i), L[v][i]);
      await put(h, stream, `g_${v}.m3u8`, playlist(v, i));
    }
  }
}
