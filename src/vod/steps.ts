// The media steps of a promotion. Each is idempotent: a file that is already
// complete is skipped (every file is put whole under its final name, so one
// that exists is complete), and a rewritten one has the same content.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Context } from '../context.js';
import { initsOf, runsOf, type ChunkRef } from '../dvr/chunk-ref.js';
import type { RemuxSource } from '../mp4/remux.js';
import { buildMasterPlaylist, buildMediaPlaylist, targetDurationFor } from '../hls/build.js';
import { chunkUri, initUri, vodLayout } from './layout.js';
import { PermanentVodError, type PlannedRendition, type VodPlan } from './plan.js';
import type { ProgressMeter } from './progress.js';
import type { VodStorage } from './storage.js';

/** The signature of remuxTsToMp4 (src/mp4/remux.ts). */
export type RemuxFn = (
  source: RemuxSource, outFile: string,
  opts: { signal?: AbortSignal; timeoutMs: number; log: Logger; clipId?: string; codecs?: string; format?: 'mpegts' | 'mp4' },
) => Promise<void>;

export interface StepInput {
  ctx: Context;
  storage: VodStorage;
  plan: VodPlan;
  meter: ProgressMeter;
  signal?: AbortSignal;
}

/** Chunk copies running at once: Redis reads and file writes overlap. */
const COPY_LANES = 4;

export const renditionBytes = (r: PlannedRendition) => r.chunks.reduce((n, c) => n + c.size, 0);

const extOf = (chunk: ChunkRef) => (chunk.init ? 'm4s' : 'ts');

/** fMP4: each init segment a rendition's chunks play with, copied once (small, so before the chunks). */
async function copyInits(step: StepInput): Promise<void> {
  const { ctx, storage, plan } = step;
  for (const r of plan.renditions) {
    for (const init of initsOf(r.chunks)) {
      const file = vodLayout.init(plan.videoId, r.name, init);
      if (await storage.exists(file)) continue;
      const bytes = await ctx.redis.getBuffer(ctx.keys.stream.init(plan.streamId, init));
      if (!bytes) throw new PermanentVodError(`init segment ${init} of ${r.name} is gone: the clip expired before its promotion`);
      await storage.put(file, bytes);
    }
  }
}

export async function copyChunks(step: StepInput): Promise<void> {
  await copyInits(step);
  const tasks = step.plan.renditions.flatMap((r) => r.chunks.map((chunk, i) => ({ rendition: r.name, chunk, segment: i + 1 })));
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < tasks.length && !failed) {
      const task = tasks[next++];
      try {
        await copyChunk(step, task.rendition, task.chunk, task.segment);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  // Every lane stops before the failure is passed on: no write outlives the attempt.
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(COPY_LANES, tasks.length) }, lane));
  const failure = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (failure) throw failure.reason;
}

async function copyChunk(step: StepInput, rendition: string, chunk: ChunkRef, segment: number): Promise<void> {
  const { ctx, storage, plan } = step;
  step.signal?.throwIfAborted();
  const file = vodLayout.chunk(plan.videoId, rendition, segment, extOf(chunk));
  if ((await storage.stat(file))?.size !== chunk.size) {
    const bytes = await ctx.redis.hgetBuffer(ctx.keys.stream.chunk(plan.streamId, chunk.id), 'b');
    if (!bytes) throw new PermanentVodError(`chunk ${segment} of ${rendition} is gone: the clip expired before its promotion`);
    await storage.put(file, bytes);
    if (ctx.config.vodStepDelayMs > 0) await sleep(ctx.config.vodStepDelayMs);
  }
  step.meter.add(chunk.size);
}

/** VOD media playlists (chunk URIs relative to them) and the master. */
export async function writePlaylists({ storage, plan }: StepInput): Promise<void> {
  const targetDuration = Math.max(plan.tdur, targetDurationFor(plan.renditions.flatMap((r) => r.chunks)));
  for (const r of plan.renditions) {
    const segmentOf = new Map(r.chunks.map((c, i) => [c, i + 1]));
    const text = buildMediaPlaylist({
      type: 'VOD',
      targetDuration,
      mediaSequence: 0,
      discontinuitySequence: 0,
      chunks: r.chunks,
      uri: (c) => chunkUri(r.name, segmentOf.get(c)!, extOf(c)),
      initUri: (init) => initUri(r.name, init),
    });
    await storage.put(vodLayout.mediaPlaylist(plan.videoId, r.name), text);
  }
  const master = buildMasterPlaylist(plan.renditions.map((r) => ({
    uri: `${r.name}.m3u8`, chunks: r.chunks, codecs: r.codecs, width: r.width, height: r.height, frameRate: r.frameRate,
  })));
  await storage.put(vodLayout.master(plan.videoId), master);
}

/** One MP4 per rendition, remuxed from the VOD's own chunk files in playlist order. */
export async function buildMp4s(step: StepInput, remux: RemuxFn, workDir: string): Promise<void> {
  const { ctx, storage, plan, meter } = step;
  for (const r of plan.renditions) {
    const bytes = renditionBytes(r);
    const file = vodLayout.mp4(plan.videoId, r.name);
    if (await storage.exists(file)) {
      meter.add(bytes);
      continue;
    }
    // One stream copy cannot carry two decoder set-ups (as for a clip's MP4,
    // mp4/remux.ts SPANS_INIT_CHANGE): such a rendition has its HLS only.
    if (initsOf(r.chunks).length > 1) {
      ctx.log.warn({ video_id: plan.videoId, rendition: r.name }, 'VOD rendition spans a change of fMP4 init segment: no MP4 for it, its HLS plays');
      meter.add(bytes);
      continue;
    }
    await mkdir(workDir, { recursive: true });
    // A name of its own per attempt: a second worker on the same job (after a
    // lost lock) must not write into this one's ffmpeg output.
    const out = path.join(workDir, `${r.name}-${randomBytes(6).toString('hex')}.mp4`);
    const numbered = r.chunks.map((chunk, i) => ({ chunk, file: vodLayout.chunk(plan.videoId, r.name, i + 1, extOf(chunk)), discontinuity: chunk.discontinuity }));
    // One byte stream per run between discontinuities (remuxTsToMp4 places each after the last).
    const runs = runsOf(numbered).map((run) => {
      const files = run.map((c) => c.file);
      // fMP4: the init, then the fragments, read as one fragmented MP4.
      const init = run[0].chunk.init;
      if (init) files.unshift(vodLayout.init(plan.videoId, r.name, init));
      return concatFiles(storage, files, (n) => meter.add(n));
    });
    const init = r.chunks[0]?.init;
    await remux(runs, out, {
      signal: step.signal,
      // Stream copy runs far faster than 10 MB/s; long VODs get the time they need.
      timeoutMs: ctx.config.ffmpegTimeoutMs + Math.ceil(bytes / 10_000),
      log: ctx.log,
      clipId: plan.clipId,
      codecs: r.codecs,
      format: init ? 'mp4' : 'mpegts',
    });
    await storage.putFile(file, out);
  }
}

/** The files one after the other as one byte stream (TS chunks concatenate). */
function concatFiles(storage: VodStorage, files: string[], onBytes: (n: number) => void): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    for (const file of files) {
      for await (const part of storage.createReadStream(file)) {
        onBytes((part as Buffer).length);
        yield part as Buffer;
      }
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
