// fMP4/CMAF HLS made by real ffmpeg (-hls_segment_type fmp4, init_%v.mp4),
// kept in fixtures/media/fmp4, and a live encoder replaying it through the
// push ingest as ffmpeg does: the init first, then per chunk its bytes and
// the media playlist (with EXT-X-MAP) that lists it. Two runs: `a` (320x180
// and 160x90, uneven chunks 2, 1.52, 2.28, 2, 1.52, 2.68 s) and `b`, the
// same encoder restarted with other parameters (256x144 and 128x72): other
// init segments.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fixtures } from '../../fixtures/make.js';
import type { StreamView } from '../../src/dvr/streams.js';
import type { Harness } from './harness.js';
import { encodeLadder, makeOnce, readChunks, type LadderChunk } from './hls-ladder.js';
import { put } from './uneven.js';

const dir = path.join(path.dirname(fixtures.ladderDir), 'fmp4');

export interface Fmp4Run {
  name: 'a' | 'b';
  /** Per rendition: the init segment's bytes. */
  inits: Buffer[];
  chunks: LadderChunk[][];
}

const RUNS = {
  a: { sizes: ['320x180', '160x90'], seconds: 12, keyframes: '0,2,3.52,5.8,7.8,9.32' },
  b: { sizes: ['256x144', '128x72'], seconds: 6, keyframes: '0,2,4' },
} as const;

function make(name: 'a' | 'b', out: string): Promise<void> {
  const spec = RUNS[name];
  return encodeLadder({
    sizes: spec.sizes,
    seconds: spec.seconds,
    video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '1000', '-sc_threshold', '0', '-force_key_frames', spec.keyframes],
    audioBitrate: '48k',
    hlsTime: 1,
    hls: ['-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', `${name}_init_%v.mp4`],
    segments: path.join(out, `${name}_%v_%02d.m4s`),
    playlists: path.join(out, `${name}_%v.m3u8`),
  });
}

let cache: Record<string, Fmp4Run> | undefined;

export async function fmp4Runs(): Promise<{ a: Fmp4Run; b: Fmp4Run }> {
  if (!cache) {
    await makeOnce(dir, 'b_1.m3u8', async (tmp) => {
      await make('a', tmp);
      await make('b', tmp);
    });
    cache = {};
    for (const name of ['a', 'b'] as const) {
      cache[name] = {
        name,
        // ffmpeg writes the init under the name given; the encoder uploads it as init_{v}.mp4.
        inits: [0, 1].map((v) => readFileSync(path.join(dir, `${name}_init_${v}.mp4`))),
        chunks: [0, 1].map((v) => readChunks(dir, `${name}_${v}.m3u8`)),
      };
    }
  }
  return cache as { a: Fmp4Run; b: Fmp4Run };
}

export interface Fmp4LiveOptions {
  /** The EXT-X-MAP URI written (default init_{v}.mp4); null: no EXT-X-MAP at all. */
  map?: string | null;
  /** Renditions pushed (default both). */
  renditions?: number[];
  /** Upload the init segments before the first chunk (default true). */
  uploadInit?: boolean;
}

/** The live media playlist ffmpeg uploads right after chunk `index` of rendition `v` (6 listed). */
export function fmp4Playlist(r: Fmp4Run, v: number, index: number, opts: Fmp4LiveOptions = {}): string {
  const chunks = r.chunks[v];
  const first = Math.max(0, index - 5);
  const target = Math.max(...chunks.slice(first, index + 1).map((c) => Math.round(c.durationMs / 1000)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
  const map = opts.map === undefined ? `init_${v}.mp4` : opts.map;
  if (map !== null) lines.push(`#EXT-X-MAP:URI="${map}"`);
  for (let i = first; i <= index; i++) lines.push(`#EXTINF:${chunks[i].extinf},`, chunks[i].file);
  return lines.join('\n') + '\n';
}

/** Pushes chunks from..to of a run in order, as ffmpeg does; the init segments go first when `from` is 0. */
export async function pushFmp4(h: Harness, stream: StreamView, r: Fmp4Run, from: number, to: number, opts: Fmp4LiveOptions = {}): Promise<void> {
  const renditions = opts.renditions ?? [0, 1];
  if (from === 0 && opts.uploadInit !== false) {
    for (const v of renditions) await put(h, stream, `init_${v}.mp4`, r.inits[v]);
  }
  for (let i = from; i <= to; i++) {
    h.clock.advance(r.chunks[0][i].durationMs);
    for (const v of renditions) {
      await put(h, stream, r.chunks[v][i].file, r.chunks[v][i].bytes);
      await put(h, stream, `media_${v}.m3u8`, fmp4Playlist(r, v, i, opts));
    }
  }
}

/** Types of the top-level ISO BMFF boxes of a file, in file order (every box, unlike the ingest's sniff). */
export function topLevelBoxes(buf: Buffer): string[] {
  const types: string[] = [];
  for (let off = 0; off + 8 <= buf.length;) {
    let size = buf.readUInt32BE(off);
    types.push(buf.toString('latin1', off + 4, off + 8));
    if (size === 1) size = Number(buf.readBigUInt64BE(off + 8));
    if (size === 0) break;
    off += size;
  }
  return types;
}
