// VOD records in Redis, and the video as the API shows it. A record is one
// hash keyed by video_id (so a retried promotion finds the same one); each
// company keeps a sorted set of its videos (by creation time), and one global
// hash maps every rendition video id ("vid-…") to its video_id.
// The keys are global (no hash tag), so each command touches one key: the
// record is written first and removed last, and an index entry whose record
// is missing is skipped when read.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Context } from '../context.js';
import { guarded } from '../redis/key-guard.js';

/** Gcore's values: a promotion in progress stays `pending` (its `progress` says how far). */
export type VideoStatus = 'pending' | 'ready' | 'error';

/** Records written before the status set followed Gcore's said 'processing'. */
function statusOf(raw: string | undefined): VideoStatus {
  return raw === 'ready' || raw === 'error' ? raw : 'pending';
}

export interface RenditionVideo {
  /** "vid-" + 24 random [A-Za-z0-9] */
  id: string;
  rendition: string;
  /** The stream's internal playlist key (ClipRendition.playlist). */
  playlist: string;
  width: number;
  height: number;
  /** Peak chunk bitrate, bits/s; 0 until measured at promotion. */
  bandwidth: number;
  segments: number;
}

export interface VideoRecord {
  id: number;
  client_id: number;
  stream_id: number;
  clip_id: string;
  name: string;
  status: VideoStatus;
  progress: number;
  /** ms */
  duration: number;
  created_at: string;
  /** Part of the public playback URL, which is the only way to reach the files. */
  secret: string;
  videos: RenditionVideo[];
  error: string | null;
  ready_at: string | null;
}

export interface VideoView {
  id: number;
  name: string;
  status: VideoStatus;
  progress: number;
  duration: number;
  stream_id: number;
  client_id: number;
  clip_id: string;
  created_at: string;
  hls_url: string;
  videos: Array<Omit<RenditionVideo, 'playlist'>>;
  error?: string;
}

export const RENDITION_VIDEO_ID = /^vid-[A-Za-z0-9]{20,64}$/;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    // 248 is the largest multiple of 62 below 256: skipping bytes above it
    // keeps every character equally likely.
    for (const b of randomBytes(length * 2)) if (b < 248 && out.length < length) out += ALPHANUMERIC[b % 62];
  }
  return out;
}

export const newRenditionVideoId = () => `vid-${randomAlphanumeric(24)}`;
export const newVideoSecret = () => randomAlphanumeric(24);

/** Hash fields of a record or part of one: `videos` as JSON, null as "". */
export function toHash(fields: Partial<VideoRecord>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key, key === 'videos' ? JSON.stringify(value) : String(value ?? '')]),
  );
}

export function parseVideo(raw: Record<string, string>): VideoRecord | null {
  if (!raw.id || !raw.client_id) return null;
  return {
    id: Number(raw.id),
    client_id: Number(raw.client_id),
    stream_id: Number(raw.stream_id),
    clip_id: raw.clip_id,
    name: raw.name,
    status: statusOf(raw.status),
    progress: Number(raw.progress ?? 0),
    duration: Number(raw.duration ?? 0),
    created_at: raw.created_at,
    secret: raw.secret,
    videos: JSON.parse(raw.videos ?? '[]'),
    error: raw.error || null,
    ready_at: raw.ready_at || null,
  };
}

/** Writes a whole record and its index entries (creation, and restoring one Redis lost). */
export async function saveVideo(ctx: Context, video: VideoRecord): Promise<void> {
  const k = ctx.keys;
  await ctx.redis.hset(k.video(video.id), toHash(video));
  if (video.videos.length > 0) {
    await ctx.redis.hset(k.renditionVideos, Object.fromEntries(video.videos.map((r) => [r.id, String(video.id)])));
  }
  const score = Date.parse(video.created_at) || 0;
  await ctx.redis.zadd(k.companyVideos(video.client_id), score, String(video.id));
  await ctx.redis.zadd(k.streamVideos(video.client_id, video.stream_id), score, String(video.id));
}

export async function loadVideo(ctx: Context, videoId: number): Promise<VideoRecord | null> {
  return parseVideo(await ctx.redis.hgetall(ctx.keys.video(videoId)));
}

/** A video of this company, or null: another company's video does not exist for it. */
export async function findVideo(ctx: Context, clientId: number, videoId: number): Promise<VideoRecord | null> {
  const video = await loadVideo(ctx, videoId);
  return video && video.client_id === clientId ? video : null;
}

/** Newest first. `page` counts from 1; `streamId`: only the videos recorded from that stream. */
export async function listVideos(
  ctx: Context, clientId: number, page: number, perPage: number, streamId?: number,
): Promise<VideoRecord[]> {
  const first = (page - 1) * perPage;
  const index = streamId === undefined ? ctx.keys.companyVideos(clientId) : ctx.keys.streamVideos(clientId, streamId);
  const ids = await ctx.redis.zrevrange(index, first, first + perPage - 1);
  const videos = await Promise.all(ids.map((id) => loadVideo(ctx, Number(id))));
  return videos.filter((v): v is VideoRecord => v !== null && v.client_id === clientId && (streamId === undefined || v.stream_id === streamId));
}

const UPDATE_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`;

/**
 * Sets fields of a record only if it still exists, so a promotion racing a
 * DELETE never brings back a half record. False: the record is gone.
 */
export async function updateVideo(ctx: Context, videoId: number, fields: Partial<VideoRecord>): Promise<boolean> {
  const redis = ctx.redis as Redis & { vodUpdateIfExists?: (key: string, ...args: string[]) => Promise<number> };
  if (!redis.vodUpdateIfExists) redis.defineCommand('vodUpdateIfExists', { numberOfKeys: 1, lua: guarded(UPDATE_IF_EXISTS) });
  const args = Object.entries(toHash(fields)).flat();
  return (await redis.vodUpdateIfExists!(ctx.keys.video(videoId), ...args)) === 1;
}

/** Index entries first, the record last (see the top of this file). */
export async function deleteVideoRecord(ctx: Context, video: VideoRecord): Promise<void> {
  const k = ctx.keys;
  await ctx.redis.zrem(k.companyVideos(video.client_id), String(video.id));
  await ctx.redis.zrem(k.streamVideos(video.client_id, video.stream_id), String(video.id));
  if (video.videos.length > 0) await ctx.redis.hdel(k.renditionVideos, ...video.videos.map((r) => r.id));
  await ctx.redis.del(k.video(video.id));
}

/** The video a rendition video id belongs to, or null. */
export async function videoIdForRendition(ctx: Context, renditionVideoId: string): Promise<number | null> {
  if (!RENDITION_VIDEO_ID.test(renditionVideoId)) return null;
  const found = await ctx.redis.hget(ctx.keys.renditionVideos, renditionVideoId);
  return found ? Number(found) : null;
}

export function vodUrl(ctx: Context, video: Pick<VideoRecord, 'id' | 'secret'>, file: string): string {
  return `${ctx.config.publicBaseUrl}/vod/${video.id}/${video.secret}/${file}`;
}

export function viewVideo(ctx: Context, video: VideoRecord): VideoView {
  return {
    id: video.id,
    name: video.name,
    status: video.status,
    progress: video.progress,
    duration: video.duration,
    stream_id: video.stream_id,
    client_id: video.client_id,
    clip_id: video.clip_id,
    created_at: video.created_at,
    hls_url: vodUrl(ctx, video, 'master.m3u8'),
    videos: video.videos.map(({ playlist: _playlist, ...rest }) => rest),
    ...(video.error ? { error: video.error } : {}),
  };
}
