// The live playlist of a stream: its DVR window, sliding, as the ingest
// fills it. Built per request (it changes with every chunk).
import type { Context } from '../context.js';
import { readChunkWith } from '../dvr/chunk-read.js';
import { parseChunkRefs, type ChunkRef } from '../dvr/chunk-ref.js';
import { loadRenditions, type RenditionInfo } from '../dvr/renditions.js';
import { findStream, windowSeconds, type StreamRecord } from '../dvr/streams.js';
import { buildMasterPlaylist, buildMediaPlaylist, targetDurationFor } from './build.js';

async function windowChunks(ctx: Context, stream: StreamRecord, playlist: string): Promise<ChunkRef[]> {
  const from = ctx.clock.now() - windowSeconds(stream) * 1000;
  const reply = await ctx.redis.zrangebyscore(ctx.keys.stream.index(stream.id, playlist), from, '+inf', 'WITHSCORES');
  return parseChunkRefs(reply);
}

/** The stream, if the owner and the play key of the URL are its own. */
async function playable(ctx: Context, clientId: number, streamId: number, playKey: string): Promise<StreamRecord | null> {
  const stream = await findStream(ctx, clientId, streamId);
  return stream && stream.play_key === playKey ? stream : null;
}

export async function liveMaster(ctx: Context, clientId: number, streamId: number, playKey: string): Promise<string | null> {
  const stream = await playable(ctx, clientId, streamId, playKey);
  if (!stream) return null;
  const renditions = await loadRenditions(ctx, streamId);
  // The last minute is enough to measure a live bitrate.
  const recent = ctx.clock.now() - 60_000;
  const variants = await Promise.all(
    renditions.map(async (r: RenditionInfo) => ({
      uri: `${r.name}.m3u8`,
      chunks: parseChunkRefs(await ctx.redis.zrangebyscore(ctx.keys.stream.index(streamId, r.playlist), recent, '+inf', 'WITHSCORES')),
      codecs: r.codecs, width: r.width, height: r.height, frameRate: r.frameRate, fallbackBandwidth: r.bandwidth,
    })),
  );
  return buildMasterPlaylist(variants);
}

export async function liveMedia(ctx: Context, clientId: number, streamId: number, playKey: string, name: string): Promise<string | null> {
  const stream = await playable(ctx, clientId, streamId, playKey);
  if (!stream) return null;
  const rendition = (await loadRenditions(ctx, streamId)).find((r) => r.name === name);
  if (!rendition) return null;
  const chunks = await windowChunks(ctx, stream, rendition.playlist);
  return buildMediaPlaylist({
    type: 'LIVE',
    targetDuration: targetDurationFor(chunks, Math.max(stream.tdur, 1)),
    mediaSequence: chunks[0]?.n ?? 0,
    discontinuitySequence: chunks[0]?.discSeq ?? 0,
    chunks,
    uri: (c) => `${c.id}.ts`,
  });
}

export async function liveChunk(ctx: Context, clientId: number, streamId: number, playKey: string, chunkId: string): Promise<Buffer | null> {
  const { grant: [owner, key], bytes } = await readChunkWith(ctx, streamId, chunkId, ctx.keys.stream.meta(streamId), ['client_id', 'play_key']);
  return owner === String(clientId) && key === playKey ? bytes : null;
}
