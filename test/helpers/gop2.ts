// A three-rendition ladder with a keyframe every 2 s and 2 s chunks (25 fps,
// AAC audio), made by ffmpeg once and kept in fixtures/media/gop2, and a
// pusher that lays its chunks at chosen instants of the (fake) clock.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fixtures } from '../../fixtures/make.js';
import type { StreamView } from '../../src/dvr/streams.js';
import { waitFor, type Harness } from './harness.js';
import { encodeLadder, evenPlaylist, makeOnce } from './hls-ladder.js';
import { put } from './uneven.js';

const dir = path.join(path.dirname(fixtures.ladderDir), 'gop2');
export const GOP2_CHUNKS = 8;
export const GOP2_CHUNK_MS = 2000;
export const FRAME_MS = 40;

const name = (v: number, i: number) => `g_${v}_${String(i).padStart(2, '0')}.ts`;

let cache: Buffer[][] | undefined;

/** Chunk bytes of renditions 0 (320x180), 1 (240x136), 2 (160x90): 8 chunks of 2 s each. */
export async function gop2Ladder(): Promise<Buffer[][]> {
  if (cache) return cache;
  await makeOnce(dir, 'g_2.m3u8', (tmp) => encodeLadder({
    sizes: ['320x180', '240x136', '160x90'],
    seconds: (GOP2_CHUNKS * GOP2_CHUNK_MS) / 1000,
    video: ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p', '-b:v', '300k',
      '-g', '50', '-keyint_min', '50', '-sc_threshold', '0'],
    audioBitrate: '64k',
    hlsTime: 2,
    segments: path.join(tmp, 'g_%v_%02d.ts'),
    playlists: path.join(tmp, 'g_%v.m3u8'),
  }));
  cache = [0, 1, 2].map((v) => Array.from({ length: GOP2_CHUNKS }, (_, i) => readFileSync(path.join(dir, name(v, i)))));
  return cache;
}

/** Pushes every chunk as ffmpeg would, the first one starting at `t0` (unix ms; the clock is set there). */
export async function pushGop2(h: Harness, stream: StreamView, t0: number): Promise<void> {
  const L = await gop2Ladder();
  h.clock.set(t0);
  for (let i = 0; i < GOP2_CHUNKS; i++) {
    h.clock.advance(GOP2_CHUNK_MS);
    for (const v of [0, 1, 2]) {
      await put(h, stream, name(v, i), L[v][i]);
      await put(h, stream, `g_${v}.m3u8`, evenPlaylist(i, (n) => name(v, n), GOP2_CHUNK_MS / 1000));
    }
  }
}

/**
 * A new stream fed the gop2 ladder so that `s` (unix ms, a whole second) lies
 * `offsetMs` into chunk 1; returns once its three renditions are probed, with
 * `t0`, chunk 0's start.
 */
export async function gop2StreamAt(h: Harness, name: string, offsetMs: number): Promise<{ stream: StreamView; s: number; t0: number }> {
  const stream = (await h.api('POST', '/streaming/streams', { name })).json() as StreamView;
  const s = Math.ceil((h.clock.now() + GOP2_CHUNK_MS + offsetMs) / 1000) * 1000 + 1000;
  const t0 = s - offsetMs - GOP2_CHUNK_MS;
  await pushGop2(h, stream, t0);
  await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}`)).json() as StreamView;
    return view.renditions.length === 3 && view.renditions.every((r) => r.height);
  }, 'three renditions probed', 30_000);
  return { stream, s, t0 };
}
