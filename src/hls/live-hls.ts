// The live playlist of a stream: its DVR window, sliding, as the ingest
// fills it. Every viewer polls it once per target duration, and a 4 h window
// lists 7,200 chunks, so it is built once per change and kept
// (playlist-cache.ts): a request reads the stream's record and chunk counters
// in one round trip (liveState), and the text is rebuilt only when they show
// a new chunk, or when the oldest chunk listed has left the window. Where the
// window is long, a media playlist's delta update (RFC 8216bis 6.2.5.1) is
// built with it, so a polling player fetches only the recent part.
import type { Context } from '../context.js';
import { perService } from '../util/per-service.js';
import { readChunkWith } from '../dvr/chunk-read.js';
import { parseChunkRefs, type ChunkRef } from '../dvr/chunk-ref.js';
import { loadRenditions, type RenditionInfo } from '../dvr/renditions.js';
import { loadStream, parseRecord as parseStreamRecord, windowSeconds, type StreamRecord } from '../dvr/streams.js';
import { buildMasterPlaylist, buildMediaPlaylists, chunkExtension, targetDurationFor } from './build.js';
import { liveInitUri } from './init-serve.js';
import { playlistCacheOf, preparePlaylist, type BuiltPlaylist, type PlaylistMeta } from './playlist-cache.js';

/** A live master measures bitrates over the last minute. */
const MASTER_SPAN_MS = 60_000;

async function windowChunks(ctx: Context, stream: StreamRecord, playlist: string): Promise<ChunkRef[]> {
  const from = ctx.clock.now() - windowSeconds(stream) * 1000;
  const reply = await ctx.redis.zrangebyscore(ctx.keys.stream.index(stream.id, playlist), from, '+inf', 'WITHSCORES');
  return parseChunkRefs(reply);
}

/** The live master as built from Redis now. */
export async function buildLiveMaster(ctx: Context, stream: StreamRecord): Promise<{ text: string; validUntil: number }> {
  const renditions = await loadRenditions(ctx, stream.id);
  const recent = ctx.clock.now() - MASTER_SPAN_MS;
  let validUntil = Infinity;
  const variants = await Promise.all(
    renditions.map(async (r: RenditionInfo) => {
      const chunks = parseChunkRefs(await ctx.redis.zrangebyscore(ctx.keys.stream.index(stream.id, r.playlist), recent, '+inf', 'WITHSCORES'));
      if (chunks.length > 0) validUntil = Math.min(validUntil, chunks[0].start + MASTER_SPAN_MS);
      return { uri: `${r.name}.m3u8`, chunks, codecs: r.codecs, width: r.width, height: r.height, frameRate: r.frameRate, fallbackBandwidth: r.bandwidth };
    }),
  );
  return { text: buildMasterPlaylist(variants), validUntil };
}

/**
 * The skip boundary of a live media playlist (seconds), or undefined: no delta
 * updates. Six target durations is the least RFC 8216bis 4.4.3.8 allows and
 * keeps the delta smallest; a player polls once per target duration and asks
 * for a delta only with a copy younger than half the boundary (6.3.7), so it
 * has three polls to spare. Offered only where the window is at least twice
 * the boundary, so a delta leaves out at least half of it: a shorter window
 * spans under twelve target durations, a playlist of a KB or so whose cost
 * per request is not its bytes, and a second version of it would only be one
 * more thing a player could merge wrong. (buildMediaPlaylists writes the tag
 * only once a delta skips something: offered, a delta must be the answer.)
 */
function skipBoundaryFor(stream: StreamRecord, targetDuration: number): number | undefined {
  const boundary = 6 * targetDuration;
  return windowSeconds(stream) >= 2 * boundary ? boundary : undefined;
}

/**
 * Whether a request's `_HLS_skip` asks for a delta update: YES, or v2 (date
 * ranges skipped too: there are none here, so it is answered as YES). Any other
 * value is ignored, not refused: the full playlist is always a right answer
 * (a player must take one, 6.3.7), and a value a later revision of the
 * protocol adds must not stop a player.
 */
export function asksDelta(skip: unknown): boolean {
  return skip === 'YES' || skip === 'v2';
}

interface LiveBuild {
  text: string;
  validUntil: number;
  /** The delta update's text, where the playlist offers one and something lies past its boundary. */
  delta?: string | null;
}

/** A rendition's live media playlist as built from Redis now; null: no such rendition. */
export async function buildLiveMedia(ctx: Context, stream: StreamRecord, name: string): Promise<LiveBuild | null> {
  const rendition = (await loadRenditions(ctx, stream.id)).find((r) => r.name === name);
  if (!rendition) return null;
  const chunks = await windowChunks(ctx, stream, rendition.playlist);
  const targetDuration = targetDurationFor(chunks, Math.max(stream.tdur, 1));
  const { full, delta } = buildMediaPlaylists({
    type: 'LIVE',
    targetDuration,
    mediaSequence: chunks[0]?.n ?? 0,
    discontinuitySequence: chunks[0]?.discSeq ?? 0,
    chunks,
    uri: (c) => `${c.id}.${chunkExtension(c)}`,
    initUri: liveInitUri,
    skipBoundary: skipBoundaryFor(stream, targetDuration),
  });
  // The first chunk drops out of the window (its start passes the window's start) then.
  return { text: full, delta, validUntil: chunks.length > 0 ? chunks[0].start + windowSeconds(stream) * 1000 : Infinity };
}

interface LiveState {
  stream: StreamRecord;
  /** Changes whenever a chunk is committed, the DVR is emptied, the stream's settings or its renditions change. */
  fingerprint: string;
}

/**
 * What the stream's live playlists depend on, in one round trip: the record
 * (last_chunk_at moves with every commit and goes with a DVR cleanup), the
 * per-rendition chunk counters, and how many renditions were probed or
 * declared. Null: no such stream.
 */
async function readLiveState(ctx: Context, streamId: number): Promise<LiveState | null> {
  const k = ctx.keys.stream;
  const replies = (await ctx.redis
    .pipeline()
    .hgetall(k.meta(streamId))
    .hgetall(k.renditionSeq(streamId))
    .hlen(k.renditions(streamId))
    .hlen(k.declared(streamId))
    .exec()) ?? [];
  for (const [err] of replies) if (err) throw err;
  const [meta, seqs, probed, declared] = replies.map(([, v]) => v) as [Record<string, string>, Record<string, string>, number, number];
  if (!meta.id) return null;
  // A stream older than play keys gets one on the slow path (loadStream).
  const stream = meta.play_key ? parseStreamRecord(meta) : await loadStream(ctx, streamId);
  if (!stream) return null;
  const sortedSeqs = Object.keys(seqs).sort().map((pl) => `${pl}=${seqs[pl]}`);
  const metaPart = Object.keys(meta).sort().map((f) => `${f}=${meta[f]}`);
  return { stream, fingerprint: `${metaPart.join('&')}|${sortedSeqs.join('&')}|${probed}|${declared}` };
}

/** Reads of a stream's live state in flight, per process: viewers asking at the same moment share one. */
const inFlightOf = perService((_ctx: Context) => new Map<number, Promise<LiveState | null>>());

/**
 * The stream's live state if the URL's owner and play key are its own. Every
 * viewer of a stream polls its playlist; requests that arrive while a read is
 * on its way take that read's answer (at most one round trip old, as any
 * answer is by the time it arrives) instead of each asking Redis again.
 */
async function liveState(ctx: Context, clientId: number, streamId: number, playKey: string): Promise<LiveState | null> {
  const reads = inFlightOf(ctx);
  let read = reads.get(streamId);
  if (!read) {
    const started = readLiveState(ctx, streamId).finally(() => reads.delete(streamId));
    reads.set(streamId, started);
    read = started;
  }
  const state = await read;
  if (!state || state.stream.client_id !== clientId || state.stream.play_key !== playKey) return null;
  return state;
}

/**
 * The playlist as cached for the stream's state now, built if it is not.
 * `delta`: its delta update instead, where it has one; built and kept with
 * the full text (under a key of its own, bounded by the same cache).
 */
async function cachedLive(
  ctx: Context, clientId: number, streamId: number, playKey: string, which: string,
  build: (stream: StreamRecord) => Promise<LiveBuild | null>, delta = false,
): Promise<BuiltPlaylist | null> {
  const state = await liveState(ctx, clientId, streamId, playKey);
  if (!state) return null;
  const cache = playlistCacheOf(ctx);
  const key = `live:${streamId}/${which}`;
  const deltaKey = `${key}?_HLS_skip`;
  const current = (meta: PlaylistMeta) => meta.fingerprint === state.fingerprint && ctx.clock.now() <= (meta.validUntil ?? 0);
  const hit = cache.get(key);
  if (hit && current(hit.meta)) {
    if (!delta || !hit.meta.delta) return hit.built;
    const deltaHit = cache.get(deltaKey);
    if (deltaHit && current(deltaHit.meta)) return deltaHit.built;
  }
  const made = await cache.once(`${key}|${state.fingerprint}`, async () => {
    const fresh = await build(state.stream);
    if (!fresh) return null;
    const now = ctx.clock.now();
    const meta = { fingerprint: state.fingerprint, validUntil: fresh.validUntil, delta: Boolean(fresh.delta) };
    const built = { full: preparePlaylist(fresh.text, now), delta: fresh.delta ? preparePlaylist(fresh.delta, now) : null };
    cache.set(key, built.full, meta);
    if (built.delta) cache.set(deltaKey, built.delta, meta);
    else cache.delete(deltaKey);
    return built;
  });
  if (!made) return null;
  return delta && made.delta ? made.delta : made.full;
}

export function liveMaster(ctx: Context, clientId: number, streamId: number, playKey: string): Promise<BuiltPlaylist | null> {
  return cachedLive(ctx, clientId, streamId, playKey, 'master', (stream) => buildLiveMaster(ctx, stream));
}

/** `delta`: the request asked for a delta update (asksDelta); it gets the full playlist where there is none. */
export function liveMedia(
  ctx: Context, clientId: number, streamId: number, playKey: string, name: string, delta = false,
): Promise<BuiltPlaylist | null> {
  return cachedLive(ctx, clientId, streamId, playKey, name, (stream) => buildLiveMedia(ctx, stream, name), delta);
}

/**
 * A chunk of the live window, by the stream's play key. Chunks that clips
 * hold outside the window are still in Redis, but the play key grants the
 * window only (RFC 8216 6.2.2: plus, once one leaves the playlist, the
 * playlist's own length and one target duration, for players still on it).
 */
export async function liveChunk(ctx: Context, clientId: number, streamId: number, playKey: string, chunkId: string): Promise<Buffer | null> {
  const { grant: [owner, key, duration, enabled, tdur], bytes, start } = await readChunkWith(
    ctx, streamId, chunkId, ctx.keys.stream.meta(streamId), ['client_id', 'play_key', 'dvr_duration', 'dvr_enabled', 'tdur'],
  );
  if (owner !== String(clientId) || key !== playKey || !bytes) return null;
  if (start === null) return bytes; // stored before starts were kept: the retention bounds it
  const windowMs = windowSeconds({ dvr_enabled: enabled === '1', dvr_duration: Number(duration) }) * 1000;
  const servedFrom = ctx.clock.now() - 2 * windowMs - Math.max(Number(tdur) || 0, 1) * 1000 * 2;
  return start >= servedFrom ? bytes : null;
}
