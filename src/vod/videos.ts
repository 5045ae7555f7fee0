// The life of a VOD outside its promotion: the pending record made with its
// clip, failure, and deletion of the record with its files.
import type { ClipRendition } from '../clips/records.js';
import type { Context } from '../context.js';
import { loadRenditions } from '../dvr/renditions.js';
import type { StreamRecord } from '../dvr/streams.js';
import { vodLayout } from './layout.js';
import {
  deleteVideoRecord, newRenditionVideoId, newVideoSecret, saveVideo, type VideoRecord,
} from './records.js';
import type { VodStorage } from './storage.js';
import { updateVideoAnnouncing } from '../events/announce.js';

export interface PendingVideoInput {
  videoId: number;
  clipId: string;
  /** unix seconds */
  start: number;
  duration: number;
  createdAt: string;
  renditions: ClipRendition[];
}

/**
 * The record of a clip's VOD, made with the clip so the API answers at once.
 * Rendition video ids are fixed here, so retries of the promotion keep them.
 */
export async function createPendingVideo(ctx: Context, stream: StreamRecord, input: PendingVideoInput): Promise<VideoRecord> {
  const known = new Map((await loadRenditions(ctx, stream.id)).map((r) => [r.playlist, r.bandwidth]));
  const video: VideoRecord = {
    id: input.videoId,
    client_id: stream.client_id,
    stream_id: stream.id,
    clip_id: input.clipId,
    name: `${stream.name} ${new Date(input.start * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
    status: 'pending',
    progress: 0,
    duration: input.duration * 1000,
    created_at: input.createdAt,
    secret: newVideoSecret(),
    videos: input.renditions.map((r) => ({
      id: newRenditionVideoId(),
      rendition: r.name,
      playlist: r.playlist,
      width: r.width ?? 0,
      height: r.height ?? 0,
      bandwidth: known.get(r.playlist) ?? 0,
      segments: 0,
    })),
    error: null,
    ready_at: null,
  };
  await saveVideo(ctx, video);
  ctx.log.info({ video_id: video.id, clip_id: input.clipId, stream_id: stream.id }, 'vod pending');
  return video;
}

/** Ends a VOD in `error` with a reason the API shows. False: the record is gone. */
export async function failVideo(ctx: Context, videoId: number, reason: string): Promise<boolean> {
  ctx.log.warn({ video_id: videoId, reason }, 'vod failed');
  return updateVideoAnnouncing(ctx, videoId, { status: 'error', error: reason }, 'video.error');
}

/**
 * The manifest goes first, so a crash part-way can never let the startup
 * reconcile bring the video back; then the record; then the media.
 * A promotion still running notices the missing record and stops.
 */
export async function deleteVideo(ctx: Context, storage: VodStorage, video: VideoRecord): Promise<void> {
  await storage.remove(vodLayout.manifest(video.id));
  await deleteVideoRecord(ctx, video);
  await storage.remove(vodLayout.folder(video.id));
  ctx.log.info({ video_id: video.id, client_id: video.client_id }, 'vod deleted');
}
