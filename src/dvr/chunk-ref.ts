// A chunk as the time index and the clips refer to it (see lib.lua).
export interface ChunkRef {
  id: string;
  /** unix ms */
  start: number;
  durationMs: number;
  size: number;
  /** discontinuities seen on this rendition before and including this chunk */
  discSeq: number;
  /** a discontinuity precedes this chunk */
  discontinuity: boolean;
  /** per-rendition running number, the live playlist's media sequence */
  n: number;
}

export const CHUNK_ID = /^[0-9a-z]{1,13}$/;

export function parseChunkRef(member: string, score: string | number): ChunkRef {
  const [id, dur, size, discSeq, disc, n] = member.split('|');
  return {
    id,
    start: Number(score),
    durationMs: Number(dur),
    size: Number(size),
    discSeq: Number(discSeq),
    discontinuity: disc === '1',
    n: Number(n),
  };
}

/** Parses a ZRANGE ... WITHSCORES reply. */
export function parseChunkRefs(reply: string[]): ChunkRef[] {
  const refs: ChunkRef[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) refs.push(parseChunkRef(reply[i], reply[i + 1]));
  return refs;
}
