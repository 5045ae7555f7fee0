// Clip records as stored in Redis, and how one becomes the clip the API shows (view.ts).
import type { Context } from '../context.js';
import { runKeyed } from '../redis/scripts.js';
import { loadRenditions, type RenditionInfo } from '../dvr/renditions.js';
import { CLIP_ID } from '../ids.js';
import type { PrecisePlan } from '../precise/plan.js';
import type { ClipStatus, ClipView } from './view.js';

export type { ClipStatus, ClipView } from './view.js';

export interface ClipRendition {
  name: string;
  playlist: string;
  width?: number;
  height?: number;
  frameRate?: number;
  codecs?: string;
}

export interface ClipRecord {
  id: string;
  client_id: number;
  stream_id: number;
  duration: number;
  start: number;
  expiration: number;
  created_at: string;
  vod_required: boolean;
  video_id: number | null;
  renditions: ClipRendition[];
  status: ClipStatus;
  /** The asked window, unix ms. */
  ws: number;
  we: number;
  /** Target duration fixed for all renditions, seconds. */
  tdur: number;
  /** Per rendition playlist: start (unix ms) of the clip's first chunk, once known. */
  firstChunk: Record<string, number>;
  /** Per rendition playlist: start of its last chunk, once the clip is complete. */
  lastChunk: Record<string, number>;
  /** Deleted by its owner while its VOD promotion was still to come: gone for users, held for the promotion. */
  deleted: boolean;
  /** Asked for a frame-accurate cut (section 14); `accuracy` says whether it has landed. */
  precise: boolean;
  accuracy: 'keyframe' | 'frame';
  /** Unix ms of the real first instant and end, once precise. */
  cutStart: number | null;
  cutEnd: number | null;
  preciseError: string | null;
  /** The precise build is over (landed, or the codec cannot be re-encoded). */
  preciseDone: boolean;
  /** Per rendition playlist: the precise edge chunks (src/precise/plan.ts), read once accuracy is frame. */
  precisePlan: PrecisePlan;
}

function bounds(raw: Record<string, string>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [field, value] of Object.entries(raw)) if (field.startsWith(prefix)) out[field.slice(prefix.length)] = Number(value);
  return out;
}

export function parseClip(raw: Record<string, string>): ClipRecord | null {
  if (!raw.id) return null;
  return {
    firstChunk: bounds(raw, 'cs:'),
    lastChunk: bounds(raw, 'ce:'),
    id: raw.id,
    client_id: Number(raw.client_id),
    stream_id: Number(raw.stream_id),
    duration: Number(raw.duration),
    start: Number(raw.start),
    expiration: Number(raw.expiration),
    created_at: raw.created_at,
    vod_required: raw.vod_required === '1',
    video_id: raw.video_id ? Number(raw.video_id) : null,
    renditions: JSON.parse(raw.renditions ?? '[]'),
    status: raw.status as ClipStatus,
    ws: Number(raw.ws),
    we: Number(raw.we),
    tdur: Number(raw.tdur),
    deleted: raw.deleted === '1',
    precise: raw.precise === '1',
    accuracy: raw.accuracy === 'frame' ? 'frame' : 'keyframe',
    cutStart: raw.cut_start ? Number(raw.cut_start) : null,
    cutEnd: raw.cut_end ? Number(raw.cut_end) : null,
    preciseError: raw.precise_error || null,
    preciseDone: raw.pdone === '1',
    precisePlan: raw.accuracy === 'frame' && raw.pplan ? JSON.parse(raw.pplan) : {},
  };
}

/**
 * A clip whose record is still kept, expired or not: a VOD promotion may
 * hold it past its expiration (see create_clip.lua). Users never see it then.
 */
export async function loadHeldClip(ctx: Context, streamId: number, clipId: string): Promise<ClipRecord | null> {
  if (!CLIP_ID.test(clipId)) return null;
  return parseClip(await ctx.redis.hgetall(ctx.keys.stream.clip(streamId, clipId)));
}

export async function loadClip(ctx: Context, streamId: number, clipId: string): Promise<ClipRecord | null> {
  const clip = await loadHeldClip(ctx, streamId, clipId);
  // Past its expiration, or deleted, a clip is gone for users, even while a promotion holds its record.
  return clip && !clip.deleted && clip.expiration * 1000 > ctx.clock.now() ? clip : null;
}

export function clipUrl(ctx: Context, clip: Pick<ClipRecord, 'client_id' | 'stream_id' | 'id'>, file: string): string {
  return `${ctx.config.publicBaseUrl}/rec/${clip.client_id}_${clip.stream_id}/rec_${clip.id}_${file}`;
}

export function viewClip(ctx: Context, clip: ClipRecord): ClipView {
  return {
    id: clip.id,
    stream_id: clip.stream_id,
    duration: clip.duration,
    start: clip.start,
    expiration: clip.expiration,
    created_at: clip.created_at,
    vod_required: clip.vod_required,
    video_id: clip.video_id,
    renditions: clip.renditions.map((r) => r.name),
    hls_master: clipUrl(ctx, clip, 'master.m3u8'),
    mp4_master: clipUrl(ctx, clip, 'master.mp4'),
    status: clip.status,
    precise: clip.precise,
    accuracy: clip.accuracy,
    cut_start: clip.cutStart,
    cut_end: clip.cutEnd,
    real_duration: clip.cutStart !== null && clip.cutEnd !== null ? (clip.cutEnd - clip.cutStart) / 1000 : null,
    precise_error: clip.preciseError,
  };
}

export function toClipRenditions(renditions: RenditionInfo[]): ClipRendition[] {
  return renditions.map((r) => ({
    name: r.name, playlist: r.playlist, width: r.width, height: r.height, frameRate: r.frameRate, codecs: r.codecs,
  }));
}

/**
 * A clip scheduled before its stream's first chunk has no renditions of its
 * own yet (an "open" clip): until it is finalized it shows the stream's
 * renditions that the ingest has learned (probed, or declared by the
 * master), so a rendition whose first chunk is still being probed, or that
 * starts late, joins when it is known. Nothing is stored here: finalize.ts
 * settles the list once, when the clip closes.
 */
export async function resolveRenditions(ctx: Context, clip: ClipRecord): Promise<ClipRecord> {
  if (clip.renditions.length > 0) return clip;
  const known = (await loadRenditions(ctx, clip.stream_id)).filter(isKnown);
  return { ...clip, renditions: toClipRenditions(known) };
}

/** Its height or codecs are known: its name media_{n}_{height} means something. */
export function isKnown(r: RenditionInfo): boolean {
  return r.height !== undefined || r.codecs !== undefined;
}

export async function setClipField(ctx: Context, streamId: number, clipId: string, field: string, value: string): Promise<void> {
  await runKeyed(ctx.redis, 'setClipField', [ctx.keys.stream.clip(streamId, clipId)], [field, value]);
}
