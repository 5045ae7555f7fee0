// MPEG-TS chunks to MP4 by stream copy (never a re-encode): the options, the
// clip's chunks read from Redis as the input, and the registry of running
// remuxes, so shutdown can stop whatever is left. One remux's run (its
// deadline, its FIFO feed, its ffmpeg in the spawner's helper) is
// remux-run.ts.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ClipRecord } from '../clips/records.js';
import type { Context } from '../context.js';
import { loadClipChunks } from '../clips/chunks.js';
import { initsOf, runsOf, type ChunkRef } from '../dvr/chunk-ref.js';
import { metrics } from '../metrics.js';
import { ffmpegBin } from '../util/ffmpeg-bin.js';
import { runOutOfProcess } from '../util/spawner.js';
import { lastLine, RemuxError, Remuxing } from './remux-run.js';

const CHUNKS_AHEAD = 4;

/** The chunks' container: MPEG-TS, or fMP4 (init segment then media segments, read as one fragmented MP4). */
export type ChunkFormat = 'mpegts' | 'mp4';
const OUTPUT_OPTIONS = [
  // Picture and sound only: timed ID3 or other data tracks of the TS have no
  // place in MP4 and would make the muxer fail.
  '-map', '0:v?', '-map', '0:a?', '-dn', '-sn',
  '-c', 'copy',
  // The chunks carry the live stream's clock. ffmpeg's default shifts every
  // stream by the same amount so the earliest presented sample is at 0 (in
  // sync; a stream that started later starts that much later, an edit list).
  // B-frame video then decodes from before 0, which the mov muxer keeps in an
  // edit list. Shifting by the first decode time instead (avoid_negative_ts
  // make_zero) opens the file with that reorder delay of nothing wherever no
  // audio leads the picture, as in a precise clip's re-encoded head.
  // moov before mdat, so a player can start before the download ends.
  '-movflags', '+faststart',
  '-f', 'mp4',
];

// TS carries AAC with ADTS headers; MP4 wants the AudioSpecificConfig. The
// filter takes AAC only: given MP3, AC-3 or E-AC-3 it fails the whole remux.
// (The mp4 muxer also inserts it by itself for ADTS AAC, so a rendition whose
// codecs the probe has not told yet still remuxes.)
const AAC_TO_MP4 = ['-bsf:a', 'aac_adtstoasc'];

/** True when an RFC 6381 list names AAC audio (mp4a.40.*, but mp4a.40.34 is MP3). */
export function hasAacAudio(codecs: string | undefined): boolean {
  return (codecs ?? '').split(',').some((c) => /^mp4a\.40\.\d+$/.test(c.trim()) && c.trim() !== 'mp4a.40.34');
}

const running = new Set<Remuxing>();
let started = 0;

/** Remuxes of this process still running (clips and VODs): writing their input, or their ffmpeg at work. */
export function runningFfmpegCount(): number {
  return running.size;
}

/** Remuxes this process has started, failed ones included (the remux histogram counts successes). */
export function remuxesStarted(): number {
  return started;
}

/** Stops every remux this module started (their ffmpeg SIGKILLed); for shutdown. */
export function killAllFfmpeg(): void {
  for (const remux of running) remux.stop('ffmpeg killed at shutdown');
}

/**
 * Asks ffmpeg its version at boot: says early when ffmpeg is missing, and
 * starts the spawner's helper, so the first MP4 request does not wait for it.
 */
export function warmUpFfmpeg(log: Logger): void {
  void runOutOfProcess(ffmpegBin(), ['-hide_banner', '-version'], { timeoutMs: 30_000 }).result.then((reply) => {
    if (reply.error || reply.code !== 0) log.warn({ err: reply.error ?? lastLine(reply.stderr) ?? `exit ${reply.code}` }, 'ffmpeg is not usable: MP4 requests will fail until it is installed');
  });
}

export interface RemuxOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  log: Logger;
  clipId?: string;
  /** The rendition's RFC 6381 codecs, as the probe found them (unknown: undefined). */
  codecs?: string;
  /** Default mpegts. */
  format?: ChunkFormat;
  /** Niceness of the ffmpeg child: a background prebuild's, so requests come first (default 0). */
  nice?: number;
}

/**
 * Remuxes an MPEG-TS byte stream (concatenated chunks) to an MP4 file with
 * stream copy. Any audio codec MP4 carries (AAC, MP3, AC-3, E-AC-3), and a
 * rendition with video only or audio only.
 */
export async function remuxTsToMp4(
  source: RemuxSource,
  outFile: string,
  opts: RemuxOptions,
): Promise<void> {
  const { signal, timeoutMs, log, clipId, nice = 0 } = opts;
  const began = performance.now();
  started += 1;
  const runs = Array.isArray(source) ? source : [source];
  const spilled: string[] = [];
  const remux = new Remuxing(timeoutMs, signal);
  running.add(remux);
  try {
    remux.throwIfStopped();
    const format = opts.format ?? 'mpegts';
    // fMP4 carries AAC as MP4 wants it already.
    const output = format === 'mpegts' && hasAacAudio(opts.codecs) ? [...OUTPUT_OPTIONS, ...AAC_TO_MP4] : OUTPUT_OPTIONS;
    if (runs.length === 1 && typeof runs[0] === 'string') {
      await remux.ffmpeg(['-f', format, '-i', runs[0]], output, outFile, nice);
    } else if (runs.length === 1) {
      await remux.piped(runs[0] as NodeJS.ReadableStream, `${outFile}.in`, spilled, ['-f', format], output, outFile, nice);
    } else {
      // Timestamps restart at each discontinuity; read as one stream, ffmpeg
      // shifts the later run by whichever track notices first, leaving holes
      // of seconds and frames out of order. The concat demuxer places each
      // run right after the end of the one before, both tracks alike.
      const list = await spillRuns(remux, runs, outFile, spilled);
      await remux.ffmpeg(['-f', 'concat', '-safe', '0', '-i', list], output, outFile, nice);
    }
    metrics.remuxSeconds.observe((performance.now() - began) / 1000);
    log.info({ clip_id: clipId, runs: runs.length, ms: Math.round(performance.now() - began) }, 'remuxed to mp4');
  } catch (err) {
    for (const run of runs) if (typeof run !== 'string') (run as Readable).destroy?.();
    await rm(outFile, { force: true });
    const stderr = err instanceof RemuxError ? err.stderrTail : [];
    // A signal this process did not send (a group signal, a shutdown) is not a remux failure.
    const interrupted = /killed with signal SIG(TERM|INT|KILL|HUP)|killed at shutdown/.test((err as Error).message);
    log[interrupted ? 'warn' : 'error']({ clip_id: clipId, err: (err as Error).message, stderr }, interrupted ? 'remux to mp4 interrupted' : 'remux to mp4 failed');
    throw err;
  } finally {
    remux.end();
    running.delete(remux);
    await Promise.all(spilled.map((f) => rm(f, { force: true })));
  }
}

/** Bytes of one run of chunks (a stream, or a file path), or several runs split at discontinuities. */
export type RemuxSource = NodeJS.ReadableStream | string | (NodeJS.ReadableStream | string)[];

/** Each run to a file beside outFile, and the concat demuxer's list of them; every file written is pushed to `spilled`. */
async function spillRuns(remux: Remuxing, runs: (NodeJS.ReadableStream | string)[], outFile: string, spilled: string[]): Promise<string> {
  const files: string[] = [];
  for (const [i, run] of runs.entries()) files.push(await remux.spill(run, `${outFile}.run${i}`, spilled));
  const list = `${outFile}.runs`;
  spilled.push(list);
  // The list's own quoting: a quote inside a path closes, escapes and reopens.
  await writeFile(list, files.map((f) => `file '${path.resolve(f).replaceAll("'", "'\\''")}'\n`).join(''));
  return list;
}

/**
 * A clip rendition's chunk bytes from Redis in playlist order, one stream per
 * run between discontinuities (see remuxTsToMp4), each read one HGET at a
 * time with a few ahead (so memory holds a few chunks); a stream errors if a
 * chunk is missing. `playlist` is the rendition's internal playlist key
 * (ClipRendition.playlist), as loadClipChunks takes it.
 */
export async function clipRunStreams(ctx: Context, clip: ClipRecord, playlist: string): Promise<Readable[]> {
  const refs = await loadClipChunks(ctx, clip, playlist);
  if (refs.length === 0) throw new Error(`clip ${clip.id} holds no chunk of ${playlist}`);
  return runsOf(refs).map((run) => Readable.from(runBytes(ctx, clip, run), { objectMode: false }));
}

async function* runBytes(ctx: Context, clip: ClipRecord, refs: ChunkRef[]): AsyncGenerator<Buffer> {
  // fMP4: the init segment first, then the fragments, read as one file.
  if (refs[0].init) yield await initBytesOf(ctx, clip.stream_id, refs[0].init);
  // Settled, never rejected: reads still in flight when the stream stops
  // early must not become unhandled rejections.
  const fetch = (i: number): Promise<Buffer | null | Error> =>
    ctx.redis.hgetBuffer(ctx.keys.stream.chunk(clip.stream_id, refs[i].id), 'b').catch((err: Error) => err);
  // A few reads in flight while ffmpeg works on the current chunk: the
  // remux waits on Redis round trips less, and memory stays a few chunks.
  const ahead: Promise<Buffer | null | Error>[] = [];
  for (let i = 0; i < Math.min(CHUNKS_AHEAD, refs.length); i++) ahead.push(fetch(i));
  for (let i = 0; i < refs.length; i++) {
    const bytes = await ahead.shift()!;
    if (bytes instanceof Error) throw bytes;
    if (i + CHUNKS_AHEAD < refs.length) ahead.push(fetch(i + CHUNKS_AHEAD));
    if (!bytes || bytes.length === 0) throw new Error(`chunk ${refs[i].id} of clip ${clip.id} is missing from Redis`);
    yield bytes;
  }
}

async function initBytesOf(ctx: Context, streamId: number, init: string): Promise<Buffer> {
  const bytes = await ctx.redis.getBuffer(ctx.keys.stream.init(streamId, init));
  if (!bytes) throw new Error(`init segment ${init} of stream ${streamId} is missing from Redis`);
  return bytes;
}

/**
 * How a clip rendition's chunks are to be read: fMP4 if they have an init
 * segment; `inits` counts the different ones (more than one: the encoder
 * changed its parameters inside the clip, and one stream copy cannot carry
 * both: the MP4 would play the second part with the first part's decoder setup).
 */
export async function clipChunkFormat(ctx: Context, clip: ClipRecord, playlist: string): Promise<{ format: ChunkFormat; inits: number }> {
  const refs = await loadClipChunks(ctx, clip, playlist);
  return { format: refs[0]?.init ? 'mp4' : 'mpegts', inits: initsOf(refs).length };
}

export const SPANS_INIT_CHANGE = 'the clip spans a change of encoder parameters (a new fMP4 init segment, EXT-X-MAP): one stream-copied MP4 cannot hold both parts; play its HLS';
