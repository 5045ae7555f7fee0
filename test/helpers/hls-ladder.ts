// Test ladders made by ffmpeg from its own test sources (testsrc2, a 440 Hz
// tone) as VOD HLS, once, into a folder that only appears complete: each is
// made in a temp folder of this process and renamed into place. And the
// chunks read back from the media playlists ffmpeg wrote.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LadderChunk {
  file: string;
  /** The EXTINF value as ffmpeg wrote it. */
  extinf: string;
  durationMs: number;
  bytes: Buffer;
}

export interface LadderSpec {
  /** Rendition sizes ("320x180"): the first is the source, the others are scaled from it. */
  sizes: readonly string[];
  seconds: number;
  /** The video encoder's options (codec, GOP, rate). */
  video: string[];
  audioBitrate: string;
  hlsTime: number;
  /** More options of the HLS muxer (segment type, init name). */
  hls?: string[];
  /** Paths of the chunks and of the media playlists, %v for the rendition. */
  segments: string;
  playlists: string;
}

/** ffmpeg's arguments for a ladder: one rendition per size, each with its own copy of the audio. */
export function ladderArgs(spec: LadderSpec): string[] {
  const labels = spec.sizes.map((_, i) => String.fromCharCode(97 + i));
  const scaled = labels.slice(1).map((l, i) => `[${l}]scale=${spec.sizes[i + 1].replace('x', ':')}[${l}2]`);
  return [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${spec.sizes[0]}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(spec.seconds),
    '-filter_complex', [`[0:v]split=${labels.length}${labels.map((l) => `[${l}]`).join('')}`, ...scaled].join(';'),
    ...['[a]', ...labels.slice(1).map((l) => `[${l}2]`)].flatMap((v) => ['-map', v]),
    ...labels.flatMap(() => ['-map', '1:a']),
    ...spec.video, '-c:a', 'aac', '-b:a', spec.audioBitrate,
    '-f', 'hls', '-hls_time', String(spec.hlsTime), '-hls_playlist_type', 'vod',
    '-var_stream_map', labels.map((_, i) => `v:${i},a:${i}`).join(' '),
    ...(spec.hls ?? []),
    '-hls_segment_filename', spec.segments, spec.playlists,
  ];
}

export async function encodeLadder(spec: LadderSpec): Promise<void> {
  await run('ffmpeg', ladderArgs(spec));
}

/** Runs `make` into a temp folder and renames it to `dir`, unless `dir` already holds `lastFile` (the last file made). */
export async function makeOnce(dir: string, lastFile: string, make: (tmp: string) => Promise<void>): Promise<void> {
  if (existsSync(path.join(dir, lastFile))) return;
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await make(tmp);
  // Another test file may have finished the same folder meanwhile, and may
  // be reading it: keep that one rather than delete it under its feet.
  if (existsSync(path.join(dir, lastFile))) {
    rmSync(tmp, { recursive: true, force: true });
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** The chunks a VOD media playlist in `dir` lists, in order. */
export function readChunks(dir: string, playlist: string): LadderChunk[] {
  const lines = readFileSync(path.join(dir, playlist), 'utf8').split('\n');
  const chunks: LadderChunk[] = [];
  lines.forEach((line, i) => {
    const m = /^#EXTINF:([0-9.]+),/.exec(line);
    if (!m) return;
    const file = lines[i + 1].trim();
    chunks.push({ file, extinf: m[1], durationMs: Math.round(Number(m[1]) * 1000), bytes: readFileSync(path.join(dir, file)) });
  });
  return chunks;
}

/** The live media playlist an encoder uploads right after chunk `index`, for chunks of `chunkSeconds` each, the last six listed. */
export function evenPlaylist(index: number, name: (i: number) => string, chunkSeconds: number): string {
  const first = Math.max(0, index - 5);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${chunkSeconds}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
  for (let i = first; i <= index; i++) lines.push(`#EXTINF:${chunkSeconds.toFixed(6)},`, name(i));
  return lines.join('\n') + '\n';
}
