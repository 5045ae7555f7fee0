// What the rest of the service calls: "events may be waiting in this
// outbox" (relay them now, in this process), and the video state changes
// that record their event atomically. The queues a process relays into are
// registered once per service (per key prefix).
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { isLive, type StreamRecord } from '../dvr/streams.js';
import { toHash, type VideoRecord } from '../vod/records.js';
import { listEndpoints } from './endpoints.js';
import { eventKeys } from './keys.js';
import { relaySoon } from './relay.js';
import { runEventScript } from './scripts.js';

/** How long past its expiration a clip's record stays (unseen) so that clip.expired can carry it. */
export const EXPIRED_EVENT_GRACE_MS = 10 * 60 * 1000;

/** Only clips of a company that subscribed to clip.expired keep their record past the expiration. */
export async function clipRecordGraceMs(ctx: Context, clientId: number): Promise<number> {
  const endpoints = await listEndpoints(ctx, clientId);
  return endpoints.some((ep) => ep.enabled && ep.events.includes('clip.expired')) ? EXPIRED_EVENT_GRACE_MS : 0;
}

const queuesByPrefix = new Map<string, Queues>();

export function installEvents(ctx: Context, queues: Queues): void {
  queuesByPrefix.set(ctx.keys.prefix, queues);
}

export function uninstallEvents(ctx: Context): void {
  queuesByPrefix.delete(ctx.keys.prefix);
}

/**
 * Whether the stream was live when the request loaded it: a chunk committed
 * to a stream that was not may have recorded stream.live (lib.lua), which
 * is then relayed at once; a live stream's chunks cost nothing here.
 */
export function wasLive(ctx: Context, stream: StreamRecord): boolean {
  return isLive(stream, ctx.clock.now());
}

/** Relays a stream's new events now; never throws (the sweep is the safety net). */
export async function streamEventsChanged(ctx: Context, streamId: number): Promise<void> {
  const queues = queuesByPrefix.get(ctx.keys.prefix);
  if (queues) await relaySoon(ctx, queues, eventKeys(ctx.keys).streamOutbox(streamId));
}

export type VideoEvent = 'video.ready' | 'video.error';

/**
 * Sets fields of a video record that still exists, recording `event` with
 * them when its status changes. False: the record is gone.
 */
export async function updateVideoAnnouncing(ctx: Context, videoId: number, fields: Partial<VideoRecord>, event: VideoEvent): Promise<boolean> {
  const k = eventKeys(ctx.keys);
  const outbox = k.videoOutbox(videoId);
  // Listed before it is written, so the sweep always knows where to look.
  await ctx.redis.zadd(k.videoOutboxes, Date.now(), outbox);
  const done = await runEventScript<number>(ctx.redis, 'evVideoUpdate', [ctx.keys.video(videoId), outbox], [
    event, ...Object.entries(toHash(fields)).flat(),
  ]);
  // Not awaited: the job that made the change goes on at once (the sweep relays it if this process dies).
  const queues = queuesByPrefix.get(ctx.keys.prefix);
  if (queues) void relaySoon(ctx, queues, outbox);
  return done === 1;
}
