// Stream records: what a company configures, plus what the ingest learned.
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { chunkMemberDuration } from './chunk-ref.js';
import { cleanStream, dropDvr, sweepStream } from './retention.js';
import { loadRenditions, type RenditionInfo } from './renditions.js';
import { screenshotUrl } from '../thumbs/screenshot.js';
import { sourceOf, streamErrors } from '../gateways/stream-state.js';

export interface StreamRecord {
  id: number;
  client_id: number;
  name: string;
  dvr_enabled: boolean;
  dvr_duration: number;
  /** false: every ingest is refused (the DVR keeps what it holds). */
  active: boolean;
  /** The stream is pulled from `uri` (the pull gateway does it) instead of pushed. */
  pull: boolean;
  /** Space-separated http(s) URLs to pull from, tried in turn; '' when none. */
  uri: string;
  transcode: Transcode;
  /**
   * What is feeding the stream now, as the gateway that does it sets it; null
   * while nothing is. gcore-python 0.53 validates it as rtmp|srt|webrtc|https.
   */
  stream_source_type: string | null;
  stream_key: string;
  /** The secret in the live playback URL: stream ids are sequential, so guessable. */
  play_key: string;
  created_at: string;
  /** Largest target duration the encoder declared, seconds. */
  tdur: number;
  last_chunk_at: number | null;
}

export type Transcode = 'source' | 'abr';
export const TRANSCODES: readonly Transcode[] = ['source', 'abr'];

export interface StreamView {
  id: number;
  client_id: number;
  name: string;
  dvr_enabled: boolean;
  dvr_duration: number;
  active: boolean;
  pull: boolean;
  uri: string;
  transcode: Transcode;
  /** RTMP, as Gcore's: what OBS users paste (server + key). */
  push_url: string;
  push_url_srt: string;
  /** RTMP over TLS, where a certificate is configured; else null. */
  push_url_rtmps: string | null;
  /** HLS over HTTP PUT. */
  push_url_hls: string;
  live: boolean;
  /** What feeds the stream now: a gateway's mark, else 'https' while pushed HLS arrives. */
  stream_source_type: 'rtmp' | 'srt' | 'https' | 'pull' | null;
  /** The last problem packaging what a publisher sends (codec, failed ffmpeg), or null. */
  ingest_error: string | null;
  /** The last problem fetching from the pull origin, or null. */
  pull_error: string | null;
  hls_url: string;
  renditions: Array<Omit<RenditionInfo, 'playlist'>>;
  dvr_range: { start: number; end: number } | null;
  /** URL of the newest thumbnail tile of the live window, or null */
  screenshot: string | null;
  created_at: string;
}

export interface StreamInput {
  name: string;
  dvr_enabled?: boolean;
  dvr_duration?: number;
  active?: boolean;
  pull?: boolean;
  uri?: string;
  transcode?: Transcode;
}

/** Stream settings that contradict each other, or a uri that is no URL: a 400. */
export class StreamInputError extends Error {}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The checks a schema cannot make; what the schema checks is checked again here for other callers. */
export function checkStreamSettings(settings: { name: string; pull: boolean; uri: string }): void {
  if (settings.name.length === 0 || CONTROL.test(settings.name)) {
    throw new StreamInputError('name must be 1-200 characters, without control characters');
  }
  for (const part of settings.uri === '' ? [] : settings.uri.split(' ')) {
    let url: URL | undefined;
    try {
      url = new URL(part);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || CONTROL.test(part)) {
      throw new StreamInputError(`uri: "${part.slice(0, 100)}" is not an http(s) URL`);
    }
  }
  if (settings.pull && settings.uri === '') throw new StreamInputError('pull: true needs a uri to pull from');
}

export function parseRecord(raw: Record<string, string>): StreamRecord | null {
  if (!raw.id) return null;
  return {
    id: Number(raw.id),
    client_id: Number(raw.client_id),
    name: raw.name,
    dvr_enabled: raw.dvr_enabled === '1',
    dvr_duration: Number(raw.dvr_duration),
    // Streams made before these settings existed are active push streams.
    active: raw.active !== '0',
    pull: raw.pull === '1',
    uri: raw.uri ?? '',
    transcode: TRANSCODES.includes(raw.transcode as Transcode) ? (raw.transcode as Transcode) : 'source',
    stream_source_type: raw.source_type || null,
    stream_key: raw.stream_key,
    play_key: raw.play_key,
    created_at: raw.created_at,
    tdur: Number(raw.tdur ?? 0),
    last_chunk_at: raw.last_chunk_at ? Number(raw.last_chunk_at) : null,
  };
}

export async function loadStream(ctx: Context, streamId: number): Promise<StreamRecord | null> {
  const key = ctx.keys.stream.meta(streamId);
  const raw = await ctx.redis.hgetall(key);
  if (raw.id && !raw.play_key) {
    // A stream made before live URLs had a play key gets one, the same for
    // every process (HSETNX), and keeps it.
    await ctx.redis.hsetnx(key, 'play_key', randomBytes(12).toString('base64url'));
    raw.play_key = (await ctx.redis.hget(key, 'play_key')) ?? '';
  }
  return parseRecord(raw);
}

/** A stream of this company, or null: another company's stream does not exist for it. */
export async function findStream(ctx: Context, clientId: number, streamId: number): Promise<StreamRecord | null> {
  const stream = await loadStream(ctx, streamId);
  return stream && stream.client_id === clientId ? stream : null;
}

export async function createStream(ctx: Context, clientId: number, input: StreamInput): Promise<StreamRecord> {
  checkStreamSettings({ name: input.name, pull: input.pull ?? false, uri: input.uri ?? '' });
  const id = await ctx.redis.incr(ctx.keys.streamSeq);
  const streamKey = randomBytes(18).toString('base64url');
  const record = {
    id: String(id),
    client_id: String(clientId),
    name: input.name,
    dvr_enabled: input.dvr_enabled === false ? '0' : '1',
    dvr_duration: String(input.dvr_duration ?? 3600),
    active: input.active === false ? '0' : '1',
    pull: input.pull ? '1' : '0',
    uri: input.uri ?? '',
    transcode: input.transcode ?? 'source',
    stream_key: streamKey,
    play_key: randomBytes(12).toString('base64url'),
    created_at: new Date(ctx.clock.now()).toISOString(),
  };
  // The record first: an index entry never points at a missing stream.
  await ctx.redis.hset(ctx.keys.stream.meta(id), record);
  await ctx.redis.hset(ctx.keys.ingestKeys, streamKey, String(id));
  await ctx.redis.sadd(ctx.keys.companyStreams(clientId), String(id));
  await ctx.redis.sadd(ctx.keys.activeStreams, String(id));
  ctx.log.info({ stream_id: id, client_id: clientId }, 'stream created');
  return parseRecord(record)!;
}

export async function updateStream(ctx: Context, stream: StreamRecord, patch: Partial<StreamInput>): Promise<StreamRecord> {
  checkStreamSettings({ name: patch.name ?? stream.name, pull: patch.pull ?? stream.pull, uri: patch.uri ?? stream.uri });
  const fields: Record<string, string> = {};
  if (patch.name !== undefined) fields.name = patch.name;
  if (patch.dvr_enabled !== undefined) fields.dvr_enabled = patch.dvr_enabled ? '1' : '0';
  if (patch.dvr_duration !== undefined) fields.dvr_duration = String(patch.dvr_duration);
  if (patch.active !== undefined) fields.active = patch.active ? '1' : '0';
  if (patch.pull !== undefined) fields.pull = patch.pull ? '1' : '0';
  if (patch.uri !== undefined) fields.uri = patch.uri;
  if (patch.transcode !== undefined) fields.transcode = patch.transcode;
  if (Object.keys(fields).length > 0) await ctx.redis.hset(ctx.keys.stream.meta(stream.id), fields);
  // A shorter window retires what left it now, a bounded batch at a time.
  if (fields.dvr_duration !== undefined || fields.dvr_enabled !== undefined) await sweepStream(ctx, stream.id);
  return (await loadStream(ctx, stream.id)) ?? stream;
}

export async function listStreams(ctx: Context, clientId: number): Promise<StreamRecord[]> {
  const ids = (await ctx.redis.smembers(ctx.keys.companyStreams(clientId))).map(Number).sort((a, b) => a - b);
  const records = await Promise.all(ids.map((id) => loadStream(ctx, id)));
  return records.filter((r): r is StreamRecord => r !== null && r.client_id === clientId);
}

/** Empties the DVR; clips already cut keep the chunks they pinned. */
export async function cleanupDvr(ctx: Context, stream: StreamRecord): Promise<void> {
  await dropDvr(ctx, stream.id, false);
  ctx.log.info({ stream_id: stream.id }, 'dvr emptied');
}

export async function deleteStream(ctx: Context, stream: StreamRecord): Promise<void> {
  // Unreachable first (no new pushes, not listed), then the DVR goes.
  await ctx.redis.hdel(ctx.keys.ingestKeys, stream.stream_key);
  await ctx.redis.srem(ctx.keys.companyStreams(stream.client_id), String(stream.id));
  // It stays in activeStreams: the cleaner sweeps its archive until its
  // last clip expires.
  await dropDvr(ctx, stream.id, true);
  ctx.log.info({ stream_id: stream.id }, 'stream deleted');
}

/** The cleaner's pass; -1 when a deleted stream has nothing left to look after. */
export async function trimStream(ctx: Context, streamId: number): Promise<number> {
  const removed = await cleanStream(ctx, streamId);
  if (removed < 0) await ctx.redis.srem(ctx.keys.activeStreams, String(streamId));
  return Math.max(removed, 0);
}

export async function dvrRange(ctx: Context, stream: StreamRecord, playlists: string[]): Promise<{ start: number; end: number } | null> {
  if (playlists.length === 0) return null;
  const windowStart = ctx.clock.now() - windowSeconds(stream) * 1000;
  let start = Infinity;
  let end = -Infinity;
  for (const playlist of playlists) {
    const index = ctx.keys.stream.index(stream.id, playlist);
    const [first, last] = await Promise.all([
      ctx.redis.zrangebyscore(index, windowStart, '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
      ctx.redis.zrange(index, -1, -1, 'WITHSCORES'),
    ]);
    if (first.length < 2 || last.length < 2) continue;
    start = Math.min(start, Number(first[1]));
    end = Math.max(end, Number(last[1]) + chunkMemberDuration(last[0]));
  }
  return Number.isFinite(start) ? { start: Math.floor(start / 1000), end: Math.ceil(end / 1000) } : null;
}

export function windowSeconds(stream: Pick<StreamRecord, 'dvr_enabled' | 'dvr_duration'>): number {
  return stream.dvr_enabled ? stream.dvr_duration : Math.min(stream.dvr_duration, 30);
}

/** Where encoders send: RTMP(S) and SRT on the gateways' ports, HLS over HTTP on the API. */
export function pushUrls(
  ctx: Context,
  streamKey: string,
): { push_url: string; push_url_srt: string; push_url_rtmps: string | null; push_url_hls: string } {
  const { config } = ctx;
  const host = config.ingestHost || new URL(config.publicBaseUrl).hostname;
  return {
    push_url: `rtmp://${host}:${config.rtmpPort}/in/${streamKey}`,
    push_url_srt: `srt://${host}:${config.srtPort}?streamid=${streamKey}`,
    push_url_rtmps: config.rtmpsPort > 0 ? `rtmps://${host}:${config.rtmpsPort}/in/${streamKey}` : null,
    push_url_hls: `${config.publicBaseUrl}/ingest/${streamKey}/`,
  };
}

/** Live: a chunk arrived within the last three target durations (SPEC 3). */
export function isLive(stream: Pick<StreamRecord, 'tdur' | 'last_chunk_at'>, nowMs: number): boolean {
  return stream.last_chunk_at !== null && nowMs - stream.last_chunk_at <= liveForMs(stream.tdur);
}

/** How long after its last chunk a stream stays live: three target durations. */
export function liveForMs(tdurSeconds: number): number {
  return Math.max(tdurSeconds, 1) * 3 * 1000;
}

export async function viewStream(ctx: Context, stream: StreamRecord): Promise<StreamView> {
  const renditions = await loadRenditions(ctx, stream.id);
  const base = ctx.config.publicBaseUrl;
  const live = isLive(stream, ctx.clock.now());
  const [mark, errors] = await Promise.all([sourceOf(ctx, stream.id), streamErrors(ctx, stream.id)]);
  return {
    id: stream.id,
    client_id: stream.client_id,
    name: stream.name,
    dvr_enabled: stream.dvr_enabled,
    dvr_duration: stream.dvr_duration,
    active: stream.active,
    pull: stream.pull,
    uri: stream.uri,
    transcode: stream.transcode,
    ...pushUrls(ctx, stream.stream_key),
    live,
    stream_source_type: mark ?? (live ? 'https' : null),
    ...errors,
    hls_url: `${base}/live/${stream.client_id}_${stream.id}/${stream.play_key}/master.m3u8`,
    renditions: renditions.map(({ playlist: _playlist, ...rest }) => rest),
    dvr_range: await dvrRange(ctx, stream, renditions.map((r) => r.playlist)),
    screenshot: await screenshotUrl(ctx, stream),
    created_at: stream.created_at,
  };
}
