// A chunk as the time index and the clips refer to it: the one owner, on the
// TypeScript side, of the index member format. Its Lua twin is the
// chunk_member / member_* functions of src/redis/lua/lib.lua; change both
// together. Who relies on it: the window index, the archive and its expiry
// set (lib.lua, commit.lua, create_clip/release_clip/drop_dvr/trim_window),
// the live playlist (hls/live-hls.ts), a clip's chunks (clips/chunks.ts),
// the DVR range (dvr/streams.ts) and the probe after a commit (dvr/ingest.ts).
//
// Member: "id|durMs|size|discSeq|disc|n[|init]", scored by the chunk's start
// (unix ms); `init` only for fMP4 chunks (the id of their init segment).
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
  /** fMP4 only: the id (content hash) of the init segment (EXT-X-MAP) this chunk plays with */
  init?: string;
}

export const CHUNK_ID = /^[0-9a-z]{1,13}$/;

/** The member text of a chunk (the score, its start, is kept beside it). */
export function formatChunkMember(ref: Omit<ChunkRef, 'start'>): string {
  const fields: (string | number)[] = [ref.id, ref.durationMs, ref.size, ref.discSeq, ref.discontinuity ? 1 : 0, ref.n];
  if (ref.init) fields.push(ref.init);
  return fields.join('|');
}

export function parseChunkRef(member: string, score: string | number): ChunkRef {
  const [id, dur, size, discSeq, disc, n, init] = member.split('|');
  const ref: ChunkRef = {
    id,
    start: Number(score),
    durationMs: Number(dur),
    size: Number(size),
    discSeq: Number(discSeq),
    discontinuity: disc === '1',
    n: Number(n),
  };
  if (init) ref.init = init;
  return ref;
}

/** The chunk id of a member, without parsing the rest. */
export function chunkMemberId(member: string): string {
  const bar = member.indexOf('|');
  return bar < 0 ? member : member.slice(0, bar);
}

/** The duration (ms) a member records. */
export function chunkMemberDuration(member: string): number {
  return Number(member.split('|', 2)[1]);
}

/** Parses a ZRANGE ... WITHSCORES reply. */
export function parseChunkRefs(reply: string[]): ChunkRef[] {
  const refs: ChunkRef[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) refs.push(parseChunkRef(reply[i], reply[i + 1]));
  return refs;
}

/**
 * Chunks cut into runs at each discontinuity: inside a run timestamps go on,
 * across one they restart (an encoder or publisher that came back), so a
 * stream copy of several runs must place each run after the one before.
 */
export function runsOf<T extends Pick<ChunkRef, 'discontinuity'>>(refs: T[]): T[][] {
  const runs: T[][] = [];
  for (const ref of refs) {
    if (runs.length === 0 || ref.discontinuity) runs.push([]);
    runs[runs.length - 1].push(ref);
  }
  return runs;
}

/**
 * The fMP4 init segments the chunks play with, each once, in order of first
 * use (none for MPEG-TS). More than one: the encoder changed its parameters
 * in between, which one stream-copied MP4 cannot carry.
 */
export function initsOf(refs: Pick<ChunkRef, 'init'>[]): string[] {
  return [...new Set(refs.flatMap((r) => (r.init ? [r.init] : [])))];
}
