// The two ffmpeg calls thumbnails need: one frame of a chunk as a JPEG (the
// chunk is decoded up to its first picture, never re-encoded), and a sprite
// sheet composed from stored tiles. Tile children run niced (below requests
// and ingest); every child is killed at a timeout and at shutdown.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ffmpegBin } from '../util/ffmpeg-bin.js';
import { runOutOfProcess, type Run } from '../util/spawner.js';

const TIMEOUT_MS = 15_000;
const running = new Set<Run>();

export class FfmpegError extends Error {}

/** Kills every thumbnail ffmpeg still running; for shutdown. */
export function killThumbnailFfmpeg(): void {
  for (const run of running) run.kill();
}

/**
 * Runs ffmpeg with `input` on stdin and returns stdout. Spawned by the
 * spawner process (util/spawner.ts): a fork of this one would stop its
 * requests for as long as it takes to copy its memory map.
 */
export async function runFfmpeg(args: string[], input: Buffer, { nice = true, allowEmpty = false } = {}): Promise<Buffer> {
  // Lowest CPU priority: a thumbnail may wait, a viewer or an encoder may not.
  const run = runOutOfProcess(ffmpegBin(), ['-nostdin', '-hide_banner', '-loglevel', 'error', ...args], { input, nice: nice ? 19 : 0, timeoutMs: TIMEOUT_MS });
  running.add(run);
  const { code, signal, stdout, stderr, error } = await run.result.finally(() => running.delete(run));
  if (code === 0 && (stdout.length > 0 || allowEmpty)) return stdout;
  const why = error ?? (stderr.trim().split('\n').slice(-3).join(' | ') || 'no output');
  throw new FfmpegError(`ffmpeg ${signal ?? `exit ${code}`}: ${why}`);
}

const JPEG_OUT = ['-an', '-sn', '-dn', '-f', 'image2', '-c:v', 'mjpeg', '-q:v', '5', 'pipe:1'];

/** A chunk as ffmpeg reads it: MPEG-TS alone, or an fMP4 fragment after its init segment (EXT-X-MAP). */
export interface ChunkInput {
  bytes: Buffer;
  init?: Buffer;
}

/**
 * ffmpeg's input options and bytes for a chunk. Only keyframes are decoded:
 * the first picture of a chunk is one, and probing the input then decodes
 * nothing else either.
 */
function chunkInput(chunk: ChunkInput): { options: string[]; bytes: Buffer; extension: string } {
  if (chunk.init) return { options: ['-skip_frame', 'nokey', '-f', 'mp4'], bytes: Buffer.concat([chunk.init, chunk.bytes]), extension: 'mp4' };
  return { options: ['-skip_frame', 'nokey', '-f', 'mpegts'], bytes: chunk.bytes, extension: 'ts' };
}

function scaleFilter(size: { box?: [number, number]; width?: number }): string {
  if (size.box) {
    const [w, h] = size.box;
    return `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1`;
  }
  return size.width ? `scale=${size.width}:-2` : 'null';
}

/**
 * The chunk's first picture (a chunk opens on a keyframe) as a JPEG. With
 * `box`, letterboxed into exactly that many pixels (tiles of one storyboard
 * all have one size); with `width` only, scaled to it keeping the aspect.
 */
export function firstFrame(chunk: ChunkInput, size: { box?: [number, number]; width?: number }, { nice = true } = {}): Promise<Buffer> {
  const input = chunkInput(chunk);
  return runFfmpeg([...input.options, '-i', 'pipe:0', '-map', '0:v:0', '-frames:v', '1', '-vf', scaleFilter(size), ...JPEG_OUT], input.bytes, { nice });
}

/**
 * The first pictures of several chunks from one ffmpeg: starting ffmpeg
 * costs about as much CPU as a whole tile, so tiles waiting together share
 * one start. Inputs and outputs are files in a private temp folder.
 */
export async function firstFrames(chunks: ChunkInput[], box: [number, number]): Promise<Buffer[]> {
  if (chunks.length === 1) return [await firstFrame(chunks[0], { box })];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dvr-tiles-'));
  try {
    const inputs = chunks.map(chunkInput);
    await Promise.all(inputs.map((input, i) => writeFile(path.join(dir, `${i}.${input.extension}`), input.bytes)));
    const args: string[] = [];
    inputs.forEach((input, i) => args.push(...input.options, '-i', path.join(dir, `${i}.${input.extension}`)));
    chunks.forEach((_, i) => args.push('-map', `${i}:v:0`, '-frames:v', '1', '-vf', scaleFilter({ box }), '-an', '-sn', '-dn',
      '-f', 'image2', '-update', '1', '-c:v', 'mjpeg', '-q:v', '5', '-y', path.join(dir, `${i}.jpg`)));
    await runFfmpeg(args, Buffer.alloc(0), { allowEmpty: true });
    return await Promise.all(chunks.map((_, i) => readFile(path.join(dir, `${i}.jpg`))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A sprite sheet: `tiles` (JPEGs of one size, null for a blank place) laid
 * out left to right, top to bottom, `columns` wide.
 */
export function composeSprite(tiles: (Buffer | null)[], columns: number, blank: Buffer): Promise<Buffer> {
  const rows = Math.max(1, Math.ceil(tiles.length / columns));
  const cols = Math.min(columns, Math.max(1, tiles.length));
  const input = Buffer.concat(tiles.map((t) => t ?? blank));
  // A viewer waits for it: request priority.
  return runFfmpeg(['-f', 'image2pipe', '-c:v', 'mjpeg', '-i', 'pipe:0', '-vf', `tile=${cols}x${rows}`, '-frames:v', '1', ...JPEG_OUT], input, { nice: false });
}

/** A black JPEG of the tile size, for places whose tile is not made (yet). */
export function blankTile(w: number, h: number): Promise<Buffer> {
  return runFfmpeg(['-f', 'lavfi', '-i', `color=c=black:s=${w}x${h}:d=1`, '-frames:v', '1', ...JPEG_OUT], Buffer.alloc(0));
}
