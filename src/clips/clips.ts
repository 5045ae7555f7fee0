// Creating, listing and expiring clips. A clip is cut by reference (see
// create_clip.lua): it records the span it covers, a couple of kilobytes
// whatever its length, and never copies media.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { runKeyed } from '../redis/scripts.js';
import { createClipKeys } from '../redis/script-keys.js';
import { recordingTarget } from './target-duration.js';
import { loadRenditions } from '../dvr/renditions.js';
import type { StreamRecord } from '../dvr/streams.js';
import { metrics } from '../metrics.js';
import { scheduleFinalize } from './finalize.js';
import { releaseClip } from './release.js';
import { loadHeldClip, parseClip, setClipField, toClipRenditions, type ClipRecord, type ClipRendition } from './records.js';
import { resolveClipWindow, type ClipRequest, type ClipWindow } from './rules.js';
import { deleteVideoRecord, type VideoRecord } from '../vod/records.js';
import { createPendingVideo, failVideo } from '../vod/videos.js';
import { clipRecordGraceMs, streamEventsChanged } from '../events/announce.js';

export class ClipRefusedError extends Error {}

/** How long a clip cut before its stream's first probe ends waits for it. */
const PROBE_WAIT_MS = 3000;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function newClipId(): string {
  let id = '';
  while (id.length < 16) {
    // Bytes of 252 and up are skipped: 252 is the largest multiple of 36
    // below 256, so every character stays equally likely.
    for (const b of randomBytes(24)) if (b < 252 && id.length < 16) id += ALPHABET[b % 36];
  }
  return id;
}

export async function createClip(ctx: Context, queues: Queues, stream: StreamRecord, req: ClipRequest): Promise<ClipRecord> {
  const window = resolveClipWindow(req, stream.dvr_duration, ctx.clock.now());
  if (!stream.dvr_enabled) throw new ClipRefusedError('DVR is disabled for this stream: enable dvr_enabled to cut clips');
  const renditions = toClipRenditions(await knownRenditions(ctx, stream.id));
  // A clip reaching into the future may be made before the stream's first
  // chunk (a scheduled clip): it learns its renditions when they appear.
  if (renditions.length === 0 && (window.start + window.duration) * 1000 <= ctx.clock.now()) {
    throw new ClipRefusedError('the stream has not delivered any chunk yet: push to it first (push_url, push_url_srt or push_url_hls)');
  }
  const id = newClipId();
  const fields = {
    id,
    client_id: String(stream.client_id),
    stream_id: String(stream.id),
    duration: String(window.duration),
    start: String(window.start),
    expiration: String(window.expiration),
    created_at: new Date(ctx.clock.now()).toISOString(),
    vod_required: window.vod_required ? '1' : '0',
    precise: window.precise ? '1' : '0',
    accuracy: 'keyframe',
    video_id: '',
    renditions: JSON.stringify(renditions),
    // A clip complete at creation takes the stream's largest chunk instead (create_clip.lua).
    tdur: String(recordingTarget(stream.tdur)),
    ev_grace: String(await clipRecordGraceMs(ctx, stream.client_id)),
  };
  const ws = window.start * 1000;
  const we = (window.start + window.duration) * 1000;
  const playlists = renditions.map((r) => r.playlist);
  const [outcome, detail] = await runKeyed<[string, string]>(ctx.redis, 'createClip', createClipKeys(ctx.keys.stream, stream.id, id, playlists), [
    id, ctx.clock.now(), ws, we, window.expiration * 1000,
    JSON.stringify(playlists), JSON.stringify(fields),
    // A promotion still to come keeps the chunks past the clip's expiration,
    // so a worker outage cannot lose an acknowledged VOD (released when done).
    window.vod_required ? ctx.config.vodHoldSeconds * 1000 : 0,
    ctx.config.maxClipsPerStream,
  ]);
  if (outcome === 'err') throw new ClipRefusedError(refusal(detail, ctx.config.maxClipsPerStream));
  if (window.vod_required) await attachVideo(ctx, stream, id, window, fields.created_at, renditions);
  metrics.clipsCreated.inc();
  ctx.log.info({ clip_id: id, stream_id: stream.id, start: window.start, duration: window.duration, state: detail }, 'clip created');
  const stored = await loadHeldClip(ctx, stream.id, id);
  if (!stored) {
    // Gone already: a DELETE racing this request, or Redis, which expires
    // keys on its own clock, saw the expiration past as the record was
    // written (clocks apart). The answer is still the clip that was made;
    // there is nothing left to prebuild or promote, and reads answer 404.
    ctx.log.warn({ clip_id: id, expiration: window.expiration }, 'clip gone right after its creation');
    await streamEventsChanged(ctx, stream.id);
    return parseClip({ ...fields, ws: String(ws), we: String(we), status: detail === 'complete' ? 'ready' : 'recording' })!;
  }
  const clip = stored;
  await streamEventsChanged(ctx, stream.id);
  if (detail === 'complete') {
    metrics.clipsFinalized.inc({ status: 'ready' });
    // The clip exists now: a hook that fails (a queue hiccup) must not turn
    // its creation into an error the producer would retry into a duplicate.
    await ctx.readyHooks.run(ctx, queues, clip).catch((err) =>
      ctx.log.error({ err, clip_id: id }, 'a ready-clip hook failed; the clip itself is fine'),
    );
  } else {
    // Should this fail, the cleaner schedules it once the clip is overdue.
    await scheduleFinalize(queues, stream.id, id, we - ctx.clock.now()).catch((err) =>
      ctx.log.error({ err, clip_id: id }, 'scheduling the finalization failed; the cleaner will retry it'),
    );
  }
  return clip;
}

function refusal(reason: string, maxClips: number): string {
  if (reason === 'too_many') {
    return `the stream already has ${maxClips} unexpired clips (MAX_CLIPS_PER_STREAM): delete some or wait for them to expire`;
  }
  if (reason === 'before_dvr') return 'the requested range lies entirely before the oldest chunk the DVR holds';
  return 'the DVR holds no chunk for the requested range';
}

/**
 * The VOD record of a vod_required clip, made once the clip exists (so a
 * refused request uses no video id) and before anything can finalize it. If
 * this fails the clip is taken back: the request fails whole, and a retry by
 * the producer makes no duplicate.
 */
async function attachVideo(
  ctx: Context, stream: StreamRecord, clipId: string, window: ClipWindow, createdAt: string, renditions: ClipRendition[],
): Promise<void> {
  let video: VideoRecord | null = null;
  try {
    const videoId = await ctx.redis.incr(ctx.keys.videoSeq);
    video = await createPendingVideo(ctx, stream, { videoId, clipId, start: window.start, duration: window.duration, createdAt, renditions });
    await setClipField(ctx, stream.id, clipId, 'video_id', String(videoId));
  } catch (err) {
    await releaseClip(ctx, stream.id, clipId, 'discard').catch(() => undefined);
    if (video) await deleteVideoRecord(ctx, video).catch(() => undefined);
    throw err;
  }
}

/**
 * The stream's renditions, once the probes running in this process have
 * told their heights: a clip's rendition names (media_{n}_{height}) are in
 * its URLs for good. Only a clip cut while its stream's first chunks are
 * being probed waits (with nothing in flight, ctx.probes.settled() resolves at once).
 */
async function knownRenditions(ctx: Context, streamId: number) {
  const renditions = await loadRenditions(ctx, streamId);
  if (renditions.every((r) => r.height)) return renditions;
  await Promise.race([ctx.probes.settled(), sleep(PROBE_WAIT_MS, undefined, { ref: false })]);
  return loadRenditions(ctx, streamId);
}

export async function listClips(ctx: Context, streamId: number): Promise<ClipRecord[]> {
  const ids = await ctx.redis.zrangebyscore(ctx.keys.stream.clips(streamId), ctx.clock.now(), '+inf');
  if (ids.length === 0) return [];
  const pipeline = ctx.redis.pipeline();
  for (const id of ids) pipeline.hgetall(ctx.keys.stream.clip(streamId, id));
  const replies = (await pipeline.exec()) ?? [];
  return replies
    .map(([, raw]) => parseClip(raw as Record<string, string>))
    .filter((c): c is ClipRecord => c !== null)
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
}

export async function deleteClip(ctx: Context, clip: ClipRecord): Promise<void> {
  const outcome = await releaseClip(ctx, clip.stream_id, clip.id, 'delete');
  await streamEventsChanged(ctx, clip.stream_id);
  // 'hidden': the user asked for a VOD, so its promotion still runs (and
  // lets the chunks go when done); only the clip's public links are gone.
  ctx.log.info({ clip_id: clip.id, stream_id: clip.stream_id, outcome }, 'clip expired on request');
  // Precise edge chunks belong to this clip alone (src/precise/build.ts): gone with it, unless a promotion still needs them.
  const edges = Object.values(clip.precisePlan).flat().map((e) => ctx.keys.stream.chunk(clip.stream_id, e.ref.id));
  if (outcome !== 'hidden' && edges.length > 0) await ctx.redis.unlink(...edges);
  if (outcome !== 'hidden' && clip.video_id !== null && clip.status === 'recording') {
    await failVideo(ctx, clip.video_id, 'the clip was deleted before it was ready: there is nothing to promote');
  }
}
