// A two-rendition ladder whose chunks have uneven lengths (1.52, 2.28, 2.0,
// 1.52, 2.6, 2.0, 1.52, 1.96, 0.6 s), made by ffmpeg with keyframes forced at
// those times, and a live encoder for it whose every request the test orders
// itself: reversed uploads, playlists sent again, restarts, huge sequence
// numbers. The video shows a running clock (testsrc2), so decoding a clip
// tells whether its chunks play in order.
import path from 'node:path';
import { fixtures } from '../../fixtures/make.js';
import type { StreamView } from '../../src/dvr/streams.js';
import type { Harness } from './harness.js';
import { encodeLadder, makeOnce, readChunks, type LadderChunk } from './hls-ladder.js';

const dir = path.join(path.dirname(fixtures.ladderDir), 'uneven');
const KEYFRAMES = '0,1.52,3.8,5.8,7.32,9.92,11.92,13.44,15.4';

let cache: LadderChunk[][] | undefined;

/** Chunks of rendition 0 (320x180) and 1 (160x90), made once and kept in fixtures/media/uneven. */
export async function unevenLadder(): Promise<LadderChunk[][]> {
  if (cache) return cache;
  await makeOnce(dir, 'u_1.m3u8', (tmp) => encodeLadder({
    sizes: ['320x180', '160x90'],
    seconds: 16,
    video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '1000', '-sc_threshold', '0', '-force_key_frames', KEYFRAMES],
    audioBitrate: '48k',
    hlsTime: 1,
    segments: path.join(tmp, 'u_%v_%02d.ts'),
    playlists: path.join(tmp, 'u_%v.m3u8'),
  }));
  cache = [0, 1].map((v) => readChunks(dir, `u_${v}.m3u8`));
  return cache;
}

export interface LiveOptions {
  /** EXT-X-MEDIA-SEQUENCE of the encoder run's first chunk (ffmpeg's -start_number / epoch_us). */
  firstSeq?: number;
  /** Chunks listed (ffmpeg -hls_list_size), default 6. */
  listSize?: number;
  /** Written as EXT-X-TARGETDURATION instead of the honest value. */
  targetDuration?: number;
  /** Renditions pushed (default both). */
  renditions?: number[];
  /** Name of rendition v's chunk i, default the fixture's; an encoder run may name them its own way. */
  name?: (v: number, i: number) => string;
}

/** The media playlist ffmpeg uploads right after chunk `index` of rendition `v`. */
export function unevenPlaylist(ladder: LadderChunk[][], v: number, index: number, opts: LiveOptions = {}): string {
  const chunks = ladder[v];
  const first = Math.max(0, index - (opts.listSize ?? 6) + 1);
  const name = (i: number) => (opts.name ? opts.name(v, i) : chunks[i].file);
  const target = opts.targetDuration ?? Math.max(...chunks.slice(first, index + 1).map((c) => Math.round(c.durationMs / 1000)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${(opts.firstSeq ?? 0) + first}`];
  for (let i = first; i <= index; i++) lines.push(`#EXTINF:${chunks[i].extinf},`, name(i));
  return lines.join('\n') + '\n';
}

/** One encoder request; throws unless the service accepted it. */
export async function put(h: Harness, stream: StreamView, file: string, body: Buffer | string): Promise<void> {
  const res = await h.push(stream, file, body);
  if (res.statusCode >= 300) throw new Error(`push of ${file} answered ${res.statusCode}: ${res.body}`);
}

/**
 * Pushes chunks from..to of both renditions in order, as ffmpeg does: the
 * clock moves on by each chunk's length, then per rendition the chunk and
 * its playlist.
 */
export async function pushInOrder(
  h: Harness, stream: StreamView, ladder: LadderChunk[][], from: number, to: number, opts: LiveOptions = {},
): Promise<void> {
  for (let i = from; i <= to; i++) {
    h.clock.advance(ladder[0][i].durationMs);
    for (const v of opts.renditions ?? [0, 1]) {
      await put(h, stream, opts.name ? opts.name(v, i) : ladder[v][i].file, ladder[v][i].bytes);
      await put(h, stream, `u_${v}.m3u8`, unevenPlaylist(ladder, v, i, opts));
    }
  }
}
