// An outbox entry becomes the message a receiver gets: the object as the
// API shows it (clip, stream or video view), built from the record's
// snapshot taken in the same step as the change.
import { createHash } from 'node:crypto';
import type { Context } from '../context.js';
import { parseClip, viewClip } from '../clips/records.js';
import { parseRecord, viewStream } from '../dvr/streams.js';
import { parseVideo, viewVideo } from '../vod/records.js';
import type { EventType, WebhookMessage } from './types.js';

export interface OutboxEntry {
  entryId: string;
  type: EventType;
  objectId: string;
  /** the record's hash as it was */
  record: Record<string, string>;
}

export interface BuiltEvent {
  id: string;
  clientId: number;
  object: string;
  at: number;
  message: WebhookMessage;
}

export function parseEntry(entryId: string, fields: string[]): OutboxEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  const flat = JSON.parse(f.rec ?? '[]') as string[] | Record<string, never>;
  const record: Record<string, string> = {};
  if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i]] = flat[i + 1];
  return { entryId, type: f.type as EventType, objectId: f.id ?? '', record };
}

/** Stable for one entry, so a relay repeated after a crash sends the same webhook-id. */
export function eventId(outbox: string, entryId: string): string {
  return `msg_${createHash('sha256').update(`${outbox}|${entryId}`).digest('base64url').slice(0, 24)}`;
}

/** How long a vod_required clip's events wait for its video id (clips.ts sets it right after the clip is made). */
const VIDEO_ID_WAIT_MS = 10_000;

/**
 * True while a vod_required clip's event would go out without the video id
 * its creation is about to set: the relay stops at it and comes back.
 */
export async function waitsForVideoId(ctx: Context, entry: OutboxEntry): Promise<boolean> {
  const r = entry.record;
  if (!entry.type.startsWith('clip.') || r.vod_required !== '1' || r.video_id) return false;
  if (Date.now() - Number(entry.entryId.split('-')[0]) > VIDEO_ID_WAIT_MS) return false;
  const now = await ctx.redis.hmget(ctx.keys.stream.clip(Number(r.stream_id), entry.objectId), 'id', 'video_id');
  return Boolean(now[0]) && !now[1];
}

/** null: the snapshot is unusable (the record was already gone); the event is dropped with a log line. */
export async function buildEvent(ctx: Context, outbox: string, entry: OutboxEntry): Promise<BuiltEvent | null> {
  const at = Number(entry.entryId.split('-')[0]);
  const clientId = Number(entry.record.client_id);
  if (!Number.isInteger(clientId) || clientId <= 0) return null;
  const data = await viewFor(ctx, entry);
  if (!data) return null;
  const kind = entry.type.split('.')[0];
  return {
    id: eventId(outbox, entry.entryId),
    clientId,
    object: `${kind}.${entry.objectId}`,
    at,
    message: { type: entry.type, timestamp: new Date(at).toISOString(), data },
  };
}

async function viewFor(ctx: Context, entry: OutboxEntry): Promise<Record<string, unknown> | null> {
  if (entry.type.startsWith('clip.')) {
    const clip = parseClip(entry.record);
    if (!clip) return null;
    if (clip.video_id === null && clip.vod_required) {
      // clip.created is recorded before the clip's VOD record gets its id (clips.ts attachVideo).
      const now = await ctx.redis.hget(ctx.keys.stream.clip(clip.stream_id, clip.id), 'video_id');
      if (now) clip.video_id = Number(now);
    }
    return { ...viewClip(ctx, clip) };
  }
  if (entry.type.startsWith('stream.')) {
    const stream = parseRecord(entry.record);
    if (!stream) return null;
    return { ...(await viewStream(ctx, stream)), live: entry.type === 'stream.live' };
  }
  const video = parseVideo(entry.record);
  return video ? { ...viewVideo(ctx, video) } : null;
}
