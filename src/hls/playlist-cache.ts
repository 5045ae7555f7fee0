// Built playlists, kept in each process within PLAYLIST_CACHE_BYTES: the
// text of a ready clip never changes, and a live window's changes once per
// chunk, while every viewer polls it. Each is stored as it is sent, in both
// forms (plain and gzip, compressed once per build) with its ETag, so a
// request costs no building, no compressing and no hashing.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Context } from '../context.js';
import { perService } from '../util/per-service.js';
import { Lru } from '../util/lru.js';

export interface BuiltPlaylist {
  text: Buffer;
  gzip: Buffer;
  /** Strong validator: a hash of the text. */
  etag: string;
  /** HTTP date of the build. */
  lastModified: string;
}

/** Map entries, strings and object headers of one cached playlist, roughly. */
const ENTRY_OVERHEAD = 256;

export function preparePlaylist(text: string, builtAt: number): BuiltPlaylist {
  const bytes = Buffer.from(text, 'utf8');
  // Level 6 (zlib's default): the text compresses about 6-10 times, built once.
  const gzip = gzipSync(bytes);
  const etag = `"${createHash('sha1').update(bytes).digest('base64url').slice(0, 22)}"`;
  return { text: bytes, gzip, etag, lastModified: new Date(Math.floor(builtAt / 1000) * 1000).toUTCString() };
}

export function weightOf(built: BuiltPlaylist, key: string): number {
  return built.text.length + built.gzip.length + key.length * 2 + ENTRY_OVERHEAD;
}

/** What decides whether a cached playlist may still be served. */
export interface PlaylistMeta {
  /** A ready clip's: unix seconds of its expiration. */
  expiration?: number;
  /** A live window's: what its stream looked like when it was built. */
  fingerprint?: string;
  /** A live window's: clock ms after which its first chunk has left the window. */
  validUntil?: number;
  /** A ready clip's accuracy when built: a precise build landing since changes the text once. */
  accuracy?: string;
  /** A live media playlist's: its delta update was built with it (and kept under a key of its own). */
  delta?: boolean;
}

type M = PlaylistMeta;

/** A byte-bounded LRU of playlists, and one build at a time per key. */
export class PlaylistCache {
  private readonly lru: Lru<{ built: BuiltPlaylist; meta: M; key: string }>;
  private readonly building = new Map<string, Promise<unknown>>();

  constructor(maxBytes: number) {
    this.lru = new Lru(maxBytes, (v) => weightOf(v.built, v.key));
  }

  get(key: string): { built: BuiltPlaylist; meta: M } | undefined {
    return this.lru.get(key);
  }

  set(key: string, built: BuiltPlaylist, meta: M): void {
    this.lru.set(key, { built, meta, key });
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  /**
   * Builds under `flightKey` once however many requests ask at the same
   * time; `build` decides what to store of what it made (one flight key
   * always builds the same kind of thing).
   */
  once<T>(flightKey: string, build: () => Promise<T>): Promise<T> {
    let pending = this.building.get(flightKey) as Promise<T> | undefined;
    if (!pending) {
      pending = build().finally(() => this.building.delete(flightKey));
      this.building.set(flightKey, pending);
    }
    return pending;
  }

  get bytes(): number {
    return this.lru.weight;
  }

  get size(): number {
    return this.lru.size;
  }
}

/** The playlist cache of a running service. */
export const playlistCacheOf = perService((ctx: Context) => new PlaylistCache(ctx.config.playlistCacheBytes));
