// Whether a clip's chunk URL (rec_{clip}_{chunk}.ts) may serve a chunk: the
// clip is alive and the company's own, and the chunk is one of the clip's:
// of one of its renditions and inside its span (first to last chunk once
// known, else the asked window). A clip id is the secret of that clip's
// media only, not of its whole stream. One round trip: the clip record and
// the chunk's rendition and start (fields p, s set by commit.lua) come in
// one pipeline, the bytes with them unless the caller has them cached.
import type { Context } from '../context.js';

export interface ClipChunkGrant {
  /** The chunk's bytes (null when not asked for, or gone). */
  bytes: Buffer | null;
  /** The clip's expiration, unix seconds: no cache may keep the chunk longer. */
  expiration: number;
}

/** Longest a chunk may run (pushed-playlist.ts): the first chunk of a span starts at most this early. */
const LONGEST_CHUNK_MS = 600_000;

function inSpan(clip: Record<string, string>, playlist: string, start: number): boolean {
  const renditions = JSON.parse(clip.renditions ?? '[]') as { playlist: string }[];
  // A clip scheduled before its stream's first chunk learns its renditions later.
  if (renditions.length > 0 && !renditions.some((r) => r.playlist === playlist)) return false;
  const first = clip[`cs:${playlist}`];
  const last = clip[`ce:${playlist}`];
  const from = first !== undefined ? Number(first) : Number(clip.ws) - LONGEST_CHUNK_MS;
  if (start < from) return false;
  return last !== undefined ? start <= Number(last) : start < Number(clip.we);
}

export async function grantClipChunk(
  ctx: Context, clientId: number, streamId: number, clipId: string, chunkId: string, withBytes = true,
): Promise<ClipChunkGrant | null> {
  const chunkKey = ctx.keys.stream.chunk(streamId, chunkId);
  const fields = withBytes ? ['p', 's', 'b'] : ['p', 's'];
  const [[, clip], [, chunk]] = (await ctx.redis
    .pipeline()
    .hgetall(ctx.keys.stream.clip(streamId, clipId))
    .hmgetBuffer(chunkKey, ...fields)
    .exec()) as [[null, Record<string, string>], [null, (Buffer | null)[]]];
  const expiration = Number(clip.expiration);
  if (clip.client_id !== String(clientId) || clip.deleted === '1' || !(expiration * 1000 > ctx.clock.now())) return null;
  const [playlist, start, bytes] = chunk;
  if (!playlist || !start) return null;
  if (!inSpan(clip, playlist.toString(), Number(start.toString()))) return null;
  return { bytes: withBytes ? (bytes ?? null) : null, expiration };
}
