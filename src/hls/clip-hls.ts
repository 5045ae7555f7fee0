// Serving a clip as HLS. A ready clip's playlists never change, so each is
// built (and gzipped) once per process and kept within PLAYLIST_CACHE_BYTES;
// a request then costs one EXISTS (the clip may have been deleted through
// another process), at most once per GRANT_MEMO_MS (dvr/grant-memo.ts).
import type { Context } from '../context.js';
import { grantClipChunk } from '../clips/chunk-grant.js';
import { grantMemoOf } from '../dvr/grant-memo.js';
import { loadClipChunks } from '../clips/chunks.js';
import { loadRenditions } from '../dvr/renditions.js';
import { loadClip, resolveRenditions, type ClipRecord } from '../clips/records.js';
import { buildMasterPlaylist, buildMediaPlaylist, chunkExtension } from './build.js';
import { clipInitUri } from './init-serve.js';
import { playlistCacheOf, preparePlaylist, type BuiltPlaylist, type PlaylistCache } from './playlist-cache.js';

export interface ServedPlaylist {
  built: BuiltPlaylist;
  /** true once the clip is ready: the text is final and may be cached long. */
  final: boolean;
  /** unix seconds: caches must not keep it longer. */
  expiration: number;
}

export interface ServedChunk {
  bytes: Buffer;
  expiration: number;
}

/** The owner is part of the key: a cached playlist must not answer under another client id. */
const cacheKey = (clientId: number, streamId: number, clipId: string, which: string) => `clip:${clientId}_${streamId}/${clipId}/${which}`;

export class ClipHls {
  private readonly cache: PlaylistCache;

  constructor(private readonly ctx: Context) {
    this.cache = playlistCacheOf(ctx);
  }

  /** `which` is 'master' or a rendition name. Null: no such clip or rendition. */
  async playlist(clientId: number, streamId: number, clipId: string, which: string): Promise<ServedPlaylist | null> {
    const key = cacheKey(clientId, streamId, clipId, which);
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      const expiration = cached.meta.expiration ?? 0;
      const alive = expiration * 1000 > this.ctx.clock.now();
      const accuracy = alive ? await this.stillThere(streamId, clipId) : null;
      if (accuracy !== null && accuracy === (cached.meta.accuracy ?? 'keyframe')) return { built: cached.built, final: true, expiration };
      this.cache.delete(key);
      // Keyframe → frame (src/precise/): built again below.
      if (accuracy === null) return null;
    }
    const found = await loadClip(this.ctx, streamId, clipId);
    if (!found || found.client_id !== clientId || found.status === 'failed') return null;
    const clip = await resolveRenditions(this.ctx, found);
    const text = which === 'master' ? await this.master(clip) : await this.media(clip, which);
    if (text === null) return null;
    const final = clip.status === 'ready';
    const built = preparePlaylist(text, this.ctx.clock.now());
    if (final) {
      this.cache.set(key, built, { expiration: clip.expiration, accuracy: clip.accuracy });
      // Just read from Redis: it is there, with this accuracy (what stillThere would ask).
      grantMemoOf(this.ctx).set(this.existsKey(streamId, clipId), clip.accuracy);
    }
    return { built, final, expiration: clip.expiration };
  }

  /**
   * The playlist if this process can answer it from memory alone: built and
   * final, the clip alive by the clock, and its existence checked within
   * GRANT_MEMO_MS with the accuracy it was built at. Else undefined (ask playlist()).
   */
  cachedFinal(clientId: number, streamId: number, clipId: string, which: string): ServedPlaylist | undefined {
    const cached = this.cache.get(cacheKey(clientId, streamId, clipId, which));
    if (cached === undefined) return undefined;
    const expiration = cached.meta.expiration ?? 0;
    if (!(expiration * 1000 > this.ctx.clock.now())) return undefined;
    const known = grantMemoOf(this.ctx).get<string>(this.existsKey(streamId, clipId));
    if (known === undefined || known !== (cached.meta.accuracy ?? 'keyframe')) return undefined;
    return { built: cached.built, final: true, expiration };
  }

  /**
   * The clip's accuracy if it was not deleted (through any process), else
   * null; asked once per GRANT_MEMO_MS.
   */
  private async stillThere(streamId: number, clipId: string): Promise<string | null> {
    const key = this.ctx.keys.stream.clip(streamId, clipId);
    const memo = grantMemoOf(this.ctx);
    const known = memo.get<string>(this.existsKey(streamId, clipId));
    if (known) return known;
    // Gone (deleted through another process), or only held for a VOD promotion after a DELETE.
    const [id, deleted, accuracy] = await this.ctx.redis.hmget(key, 'id', 'deleted', 'accuracy');
    if (id === null || deleted === '1') return null;
    const there = accuracy ?? 'keyframe';
    memo.set(this.existsKey(streamId, clipId), there);
    return there;
  }

  /** The grant memo's entry for "the clip exists, with this accuracy" (forgetGrants drops it by the clip's key). */
  private existsKey(streamId: number, clipId: string): string {
    return `exists|${this.ctx.keys.stream.clip(streamId, clipId)}`;
  }

  /** The chunk's bytes, if the clip is alive, belongs to this company and holds this chunk (clips/chunk-grant.ts). */
  async chunk(clientId: number, streamId: number, clipId: string, chunkId: string): Promise<ServedChunk | null> {
    const granted = await grantClipChunk(this.ctx, clientId, streamId, clipId, chunkId);
    return granted?.bytes ? { bytes: granted.bytes, expiration: granted.expiration } : null;
  }

  private async media(clip: ClipRecord, name: string): Promise<string | null> {
    const rendition = clip.renditions.find((r) => r.name === name);
    if (!rendition) return null;
    return buildMediaPlaylist({
      type: clip.status === 'ready' ? 'VOD' : 'EVENT',
      targetDuration: clip.tdur,
      mediaSequence: 0,
      discontinuitySequence: 0,
      chunks: await loadClipChunks(this.ctx, clip, rendition.playlist),
      uri: (c) => `rec_${clip.id}_${c.id}.${chunkExtension(c)}`,
      initUri: (init) => clipInitUri(clip.id, init),
    });
  }

  private async master(clip: ClipRecord): Promise<string> {
    // A clip cut in the first second of a stream may predate the probe of
    // its renditions: what the stream has learned since fills the gaps.
    const incomplete = clip.renditions.some((r) => !r.codecs || !r.frameRate || !r.width);
    const learned = incomplete ? await loadRenditions(this.ctx, clip.stream_id) : [];
    const variants = await Promise.all(
      clip.renditions.map(async (r) => {
        const later = learned.find((l) => l.playlist === r.playlist);
        return {
          uri: `rec_${clip.id}_${r.name}.m3u8`,
          chunks: await loadClipChunks(this.ctx, clip, r.playlist),
          codecs: r.codecs ?? later?.codecs,
          width: r.width ?? later?.width,
          height: r.height ?? later?.height,
          frameRate: r.frameRate ?? later?.frameRate,
        };
      }),
    );
    return buildMasterPlaylist(variants);
  }
}
