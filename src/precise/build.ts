// The precise build of one clip (a BullMQ job, workers/precise.ts): per
// rendition, the edge chunks are re-encoded (encode.ts) as planned
// (plan.ts), stored as chunks of the clip only, and once every rendition is
// built the plan goes on the clip record and `accuracy` turns to "frame" —
// the one write readers look at, so the playlists change once, all at once.
// Idempotent: a build run again makes new edge chunks and replaces the plan.
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import type { ChunkRef } from '../dvr/chunk-ref.js';
import { loadClipChunks } from '../clips/chunks.js';
import { loadHeldClip, setClipField, type ClipRecord } from '../clips/records.js';
import { CannotReencode, encodeEdge } from './encode.js';
import { planCuts, spanOf, applyPlan, type EdgeCut, type PreciseChunk, type PrecisePlan } from './plan.js';

/** At nice 19 on a busy machine an edge may wait long for CPU; nobody waits on it meanwhile. */
const PRECISE_TIMEOUT_MS = 600_000;

export type PreciseOutcome = 'frame' | 'not_needed' | 'unsupported' | 'gone' | 'not_ready';

/** Ids of precise chunks start with "zz": DVR chunk ids (a base-36 counter + 6) reach it only past 36^6 × 35 chunks. */
export const PRECISE_ID_PREFIX = 'zz';

function preciseId(): string {
  let id = PRECISE_ID_PREFIX;
  for (const b of randomBytes(11)) id += (b % 36).toString(36);
  return id;
}

export interface PreciseStats {
  edges: number;
  cpuSeconds: number;
}

export async function buildPrecise(
  ctx: Context, streamId: number, clipId: string, stats: PreciseStats = { edges: 0, cpuSeconds: 0 },
): Promise<{ outcome: PreciseOutcome; clip: ClipRecord | null }> {
  const clip = await loadHeldClip(ctx, streamId, clipId);
  if (!clip || clip.deleted) return { outcome: 'gone', clip: null };
  if (!clip.precise || clip.accuracy === 'frame') return { outcome: 'not_needed', clip };
  // A recording clip is built once it is finalized (its ready hook queues this job again).
  if (clip.status !== 'ready') return { outcome: 'not_ready', clip };
  const raw: ClipRecord = { ...clip, precisePlan: {} };
  const plan: PrecisePlan = {};
  const until = clip.expiration * 1000 + (clip.vod_required ? ctx.config.vodHoldSeconds * 1000 : 0);
  const spans: Array<{ start: number; end: number }> = [];
  const cpuMs: Record<string, number> = {};
  try {
    for (const r of clip.renditions) {
      const chunks = await loadClipChunks(ctx, raw, r.playlist);
      const cuts = planCuts(chunks, clip.ws, clip.we);
      const edges: PreciseChunk[] = [];
      const cpuBefore = stats.cpuSeconds;
      const done = new Map<EdgeCut, PreciseChunk>();
      for (const cut of [cuts.head, cuts.tail]) {
        if (!cut || done.has(cut)) continue;
        const edge = await buildEdge(ctx, streamId, r.playlist, cut, until, stats);
        done.set(cut, edge);
        edges.push(edge);
      }
      plan[r.playlist] = edges;
      cpuMs[r.playlist] = Math.round((stats.cpuSeconds - cpuBefore) * 1000);
      const span = spanOf(applyPlan(chunks, edges));
      if (span) spans.push(span);
    }
  } catch (err) {
    if (err instanceof CannotReencode) {
      await setClipField(ctx, streamId, clipId, 'precise_error', `kept keyframe-aligned: ${err.message}`);
      await setClipField(ctx, streamId, clipId, 'pdone', '1');
      return { outcome: 'unsupported', clip: await loadHeldClip(ctx, streamId, clipId) };
    }
    throw err;
  }
  // Renditions share one frame grid; the clip shows the span they all cover.
  const cutStart = Math.max(...spans.map((s) => s.start));
  const cutEnd = Math.min(...spans.map((s) => s.end));
  await setClipField(ctx, streamId, clipId, 'pplan', JSON.stringify(plan));
  await setClipField(ctx, streamId, clipId, 'cut_start', String(cutStart));
  await setClipField(ctx, streamId, clipId, 'cut_end', String(cutEnd));
  await setClipField(ctx, streamId, clipId, 'precise_error', '');
  // What the build cost, per rendition (ffmpeg's user + system CPU): for operators and bench:precise.
  await setClipField(ctx, streamId, clipId, 'precise_cpu_ms', JSON.stringify(cpuMs));
  await setClipField(ctx, streamId, clipId, 'pdone', '1');
  await setClipField(ctx, streamId, clipId, 'accuracy', 'frame');
  ctx.log.info({ clip_id: clipId, stream_id: streamId, edges: stats.edges, cpu_s: stats.cpuSeconds }, 'precise clip built');
  return { outcome: 'frame', clip: await loadHeldClip(ctx, streamId, clipId) };
}

async function buildEdge(
  ctx: Context, streamId: number, playlist: string, cut: EdgeCut, until: number, stats: PreciseStats,
): Promise<PreciseChunk> {
  const source = cut.chunk;
  const bytes = await ctx.redis.hgetBuffer(ctx.keys.stream.chunk(streamId, source.id), 'b');
  if (!bytes) throw new Error(`chunk ${source.id} of ${playlist} is gone`);
  const encoded = await encodeEdge(bytes, source.durationMs, cut.fromMs, cut.toMs, Math.max(ctx.config.ffmpegTimeoutMs, PRECISE_TIMEOUT_MS));
  stats.edges += 1;
  stats.cpuSeconds += encoded.cpuSeconds;
  const fromMs = Math.round(encoded.fromS * 1000);
  const ref: ChunkRef = {
    ...source,
    id: preciseId(),
    start: source.start + fromMs,
    // To the chunk's end (as the DVR has it) when uncut there, else to the last kept frame's end.
    durationMs: cut.toMs === null ? source.durationMs - fromMs : Math.round((encoded.toS - encoded.fromS) * 1000),
    size: encoded.bytes.length,
  };
  // Stored like a DVR chunk (bytes, rendition, start: what a clip chunk URL
  // checks; the start of the chunk it replaces, which lies in the clip's
  // span) but in no index: it belongs to this clip alone and lives as long.
  const key = ctx.keys.stream.chunk(streamId, ref.id);
  await ctx.redis.multi().hset(key, { b: encoded.bytes, p: playlist, s: String(source.start) }).pexpireat(key, until).exec();
  return { replaces: source.id, ref };
}
