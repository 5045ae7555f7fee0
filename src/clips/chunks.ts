// The chunks of one rendition of a clip: the members of the window index and
// of the archive that lie inside the clip's span (see lib.lua). Nothing is
// copied at creation, so this is the one place that says what a clip holds.
import type { Context } from '../context.js';
import { parseChunkRefs, type ChunkRef } from '../dvr/chunk-ref.js';
import type { ClipRecord } from './records.js';
import { withinTarget } from './target-duration.js';
import { applyPlan } from '../precise/plan.js';

/** Chunks last at most this long (pushed-playlist.ts refuses longer ones). */
const LONGEST_CHUNK_MS = 600_000;

export async function loadClipChunks(ctx: Context, clip: ClipRecord, playlist: string): Promise<ChunkRef[]> {
  const first = clip.firstChunk[playlist];
  const last = clip.lastChunk[playlist];
  const from = first ?? clip.ws - LONGEST_CHUNK_MS;
  const to = last ?? `(${clip.we}`;
  const k = ctx.keys.stream;
  const [[, inWindow], [, archived]] = (await ctx.redis
    .pipeline()
    .zrangebyscore(k.index(clip.stream_id, playlist), from, to, 'WITHSCORES')
    .zrangebyscore(k.archive(clip.stream_id, playlist), from, to, 'WITHSCORES')
    .exec()) as [[null, string[]], [null, string[]]];
  const byId = new Map<string, ChunkRef>();
  // A chunk moves from the window to the archive between the two reads at
  // most once; keyed by id it is counted once either way.
  for (const ref of [...parseChunkRefs(archived), ...parseChunkRefs(inWindow)]) {
    if (first === undefined && ref.start + ref.durationMs <= clip.ws) continue;
    byId.set(ref.id, ref);
  }
  // A chunk longer than the clip's fixed target ends the clip (target-duration.ts).
  const chunks = withinTarget([...byId.values()].sort((a, b) => a.start - b.start), clip.tdur);
  // A precise clip (accuracy frame) has its edge chunks in place of the DVR's: every reader (HLS, MP4, VOD) takes them.
  return applyPlan(chunks, clip.precisePlan[playlist]);
}
