// Finding a user's VOD for the seed APIs (SPEC 7.2, 7.3), with the check that
// the token's user still exists folded into the same Redis round trip.
//
// The segment API is the hot path: one round trip per request, EXISTS user
// and HGET of the rendition index sent together (not as a pipeline, so the
// two global keys may live on different Redis Cluster nodes). A ready video
// never changes until it is deleted, and a deletion removes its rendition ids
// from the index before anything else, so the record of a ready video is
// cached per process and re-validated by that HGET on every use.
import type { Context } from '../context.js';
import { loadVideo, parseVideo, type RenditionVideo, type VideoRecord } from '../vod/records.js';
import { Lru } from '../util/lru.js';
import type { UserClaims } from '../tenancy/user-tokens.js';

export type Found<T> = { kind: 'no-user' } | { kind: 'not-found' } | ({ kind: 'found' } & T);

export interface FoundRendition {
  video: VideoRecord;
  rendition: RenditionVideo;
}

const CACHED_VIDEOS = 10_000;

export class VodDirectory {
  private readonly readyVideos = new Lru<VideoRecord>(CACHED_VIDEOS);

  constructor(private readonly ctx: Context) {}

  /** The rendition video `renditionVideoId` if the user exists and their company owns it. */
  async rendition(user: UserClaims, renditionVideoId: string): Promise<Found<FoundRendition>> {
    const k = this.ctx.keys;
    const [exists, indexed] = await Promise.all([
      this.ctx.redis.exists(k.user(user.userId)),
      this.ctx.redis.hget(k.renditionVideos, renditionVideoId),
    ]);
    if (exists !== 1) return { kind: 'no-user' };
    if (!indexed) return { kind: 'not-found' };
    const videoId = Number(indexed);
    let video = this.readyVideos.get(renditionVideoId);
    if (!video || video.id !== videoId) {
      video = (await loadVideo(this.ctx, videoId)) ?? undefined;
      if (video?.status === 'ready') this.readyVideos.set(renditionVideoId, video);
    }
    const rendition = video?.videos.find((r) => r.id === renditionVideoId);
    if (!video || !rendition || video.client_id !== user.clientId) return { kind: 'not-found' };
    return { kind: 'found', video, rendition };
  }

  /** The record `videoId` if the user exists and their company owns it. */
  async video(user: UserClaims, videoId: number): Promise<Found<{ video: VideoRecord }>> {
    const k = this.ctx.keys;
    const [exists, raw] = await Promise.all([
      this.ctx.redis.exists(k.user(user.userId)),
      this.ctx.redis.hgetall(k.video(videoId)),
    ]);
    if (exists !== 1) return { kind: 'no-user' };
    const video = parseVideo(raw);
    if (!video || video.client_id !== user.clientId) return { kind: 'not-found' };
    return { kind: 'found', video };
  }
}
