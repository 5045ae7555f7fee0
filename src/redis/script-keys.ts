// The KEYS of each keyed Lua script, in the order the script reads them
// (its header comment lists the same). Every key of one stream shares its
// hash slot, so each call stays inside one slot of a Redis Cluster.
import type { Keys } from './keys.js';

type S = Keys['stream'];

export function createClipKeys(k: S, streamId: number, clipId: string, playlists: string[]): string[] {
  return [
    k.clip(streamId, clipId), k.meta(streamId), k.clips(streamId), k.recording(streamId),
    k.clipStarts(streamId), k.clipEnds(streamId), k.held(streamId), k.outbox(streamId),
    ...playlists.map((pl) => k.index(streamId, pl)),
  ];
}

export function releaseClipKeys(k: S, streamId: number, clipId: string, playlists: string[]): string[] {
  return [
    k.clip(streamId, clipId), k.clips(streamId), k.recording(streamId),
    k.clipStarts(streamId), k.clipEnds(streamId), k.held(streamId), k.recheck(streamId), k.outbox(streamId),
    ...playlists.map((pl) => k.archive(streamId, pl)),
  ];
}

export function finalizeClipKeys(k: S, streamId: number, clipId: string): string[] {
  return [k.clip(streamId, clipId), k.recording(streamId), k.outbox(streamId)];
}

export function sweepKeys(k: S, streamId: number, playlists: string[]): string[] {
  return [
    k.meta(streamId), k.clipStarts(streamId), k.clipEnds(streamId), k.held(streamId), k.recording(streamId),
    k.recheck(streamId), k.dead(streamId),
    ...playlists.flatMap((pl) => [k.index(streamId, pl), k.archive(streamId, pl), k.drain(streamId, pl)]),
  ];
}

export function dropDvrKeys(k: S, streamId: number, playlists: string[]): string[] {
  return [
    k.meta(streamId), k.uploaded(streamId), k.listed(streamId), k.renditions(streamId), k.declared(streamId),
    k.playlists(streamId), k.playlistTime(streamId), k.renditionStats(streamId), k.chunkSeq(streamId), k.dead(streamId),
    ...playlists.flatMap((pl) => [k.index(streamId, pl), k.drain(streamId, pl)]),
  ];
}

export function trimWindowKeys(k: S, streamId: number, playlists: string[], expiring: string[]): string[] {
  return [
    k.meta(streamId), k.listed(streamId), k.clips(streamId), k.held(streamId), k.renditionSeq(streamId),
    k.recording(streamId), k.clipStarts(streamId), k.clipEnds(streamId), k.recheck(streamId), k.dead(streamId),
    k.outbox(streamId),
    ...playlists.flatMap((pl) => [k.archive(streamId, pl), k.drain(streamId, pl), k.index(streamId, pl)]),
    ...expiring.map((id) => k.clip(streamId, id)),
  ];
}

/**
 * The ingest scripts (store_chunk, ingest_playlist, advance_timeline; the
 * layout is commit.lua's): the stream's fixed keys, five per rendition named,
 * then the chunk and init keys the caller read beforehand. A script that
 * finds it needs one more stops there and names it; the caller calls again.
 */
export function ingestKeys(k: S, streamId: number, playlists: string[], chunkIds: string[], initIds: string[]): string[] {
  return [
    k.meta(streamId), k.playlists(streamId), k.listed(streamId), k.uploaded(streamId), k.initUris(streamId),
    k.renditionSeq(streamId), k.renditionStats(streamId), k.clipStarts(streamId), k.clipEnds(streamId),
    k.dead(streamId), k.outbox(streamId), k.slots(streamId), k.slotTimes(streamId),
    ...playlists.flatMap((pl) => [k.waiting(streamId, pl), k.seen(streamId, pl), k.seenBefore(streamId, pl), k.index(streamId, pl), k.archive(streamId, pl)]),
    ...chunkIds.map((id) => k.chunk(streamId, id)),
    ...initIds.map((id) => k.init(streamId, id)),
  ];
}
