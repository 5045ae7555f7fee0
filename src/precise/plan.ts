// The precise plan of a clip, as a pure function of its chunks: which chunk of
// each rendition is re-encoded at which edge, and what the re-encoded chunk
// replaces. Chunks between the edges are never touched. Stored on the clip
// record (field `pplan`) once every rendition is built; the readers then
// substitute the edge chunks (swap.ts).
import type { ChunkRef } from '../dvr/chunk-ref.js';

/** Less than this between `start` and a chunk's first frame counts as "on the keyframe" (half a 50 fps frame). */
export const ON_KEYFRAME_MS = 10;

export interface EdgeCut {
  /** The DVR chunk re-encoded. */
  chunk: ChunkRef;
  /** Keep frames from this many ms into the chunk (0: from its keyframe). */
  fromMs: number;
  /** Keep frames before this many ms into the chunk (null: to its end). */
  toMs: number | null;
}

/** Per rendition: the head edge, the tail edge, or one cut when both fall in the same chunk. */
export interface RenditionCuts {
  head: EdgeCut | null;
  tail: EdgeCut | null;
}

/** The chunk that replaces a DVR chunk in a precise clip. */
export interface PreciseChunk {
  /** The DVR chunk it replaces. */
  replaces: string;
  ref: ChunkRef;
}

/** Stored per rendition playlist. */
export type PrecisePlan = Record<string, PreciseChunk[]>;

/**
 * Which edges of one rendition need a re-encode for the asked window [ws, we)
 * (unix ms). A start on (or before) the first chunk's keyframe needs none at
 * the head; an end on (or after) the last chunk's end none at the tail. Start
 * and end in one chunk: a single cut (head === tail).
 */
export function planCuts(chunks: ChunkRef[], ws: number, we: number): RenditionCuts {
  if (chunks.length === 0) return { head: null, tail: null };
  const first = chunks[0];
  const last = chunks[chunks.length - 1];
  const headFrom = ws - first.start;
  const tailTo = we - last.start;
  const needHead = headFrom > ON_KEYFRAME_MS;
  const needTail = tailTo < last.durationMs - ON_KEYFRAME_MS;
  if (first.id === last.id) {
    if (!needHead && !needTail) return { head: null, tail: null };
    const one = { chunk: first, fromMs: needHead ? headFrom : 0, toMs: needTail ? tailTo : null };
    return { head: one, tail: one };
  }
  return {
    head: needHead ? { chunk: first, fromMs: headFrom, toMs: null } : null,
    tail: needTail ? { chunk: last, fromMs: 0, toMs: tailTo } : null,
  };
}

/** The chunks of a rendition with its precise edges in place of the DVR's. */
export function applyPlan(chunks: ChunkRef[], edges: PreciseChunk[] | undefined): ChunkRef[] {
  if (!edges || edges.length === 0) return chunks;
  const byId = new Map(edges.map((e) => [e.replaces, e.ref]));
  return chunks.map((c) => byId.get(c.id) ?? c);
}

/** The real span of a precise rendition: first instant and end, unix ms. */
export function spanOf(chunks: ChunkRef[]): { start: number; end: number } | null {
  if (chunks.length === 0) return null;
  const last = chunks[chunks.length - 1];
  return { start: chunks[0].start, end: last.start + last.durationMs };
}
