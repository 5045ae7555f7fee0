// A clip's EXT-X-TARGETDURATION (RFC 8216 4.3.3.1, SPEC 6.1): fixed when the
// clip is cut, the same in every rendition, never below any EXTINF rounded.
// The rule:
// - a clip the DVR already holds whole takes the stream's largest chunk so
//   far (rounded; the encoder's declared target counts too): every chunk of
//   the clip is one of those (create_clip.lua sets it);
// - a clip still recording cannot know its chunks yet: it takes that largest
//   chunk with headroom (x1.5, and at least one second more), or 10 s when
//   the stream has delivered nothing yet;
// - a chunk longer than the clip's target (an encoder changing its GOP
//   mid-clip) never joins it: the clip ends before that chunk (loadClipChunks),
//   shorter, as when the DVR holds less, and its playlists stay valid.
import type { ChunkRef } from '../dvr/chunk-ref.js';

/** Target of a clip cut before its stream delivered any chunk, seconds. */
export const UNKNOWN_STREAM_TARGET = 10;

/** The target a recording clip fixes at creation; `streamTarget` is the stream's largest rounded chunk. */
export function recordingTarget(streamTarget: number): number {
  if (streamTarget <= 0) return UNKNOWN_STREAM_TARGET;
  return Math.max(streamTarget + 1, Math.ceil(streamTarget * 1.5));
}

/** The chunks of a clip that fit its target: those before the first that would break it. */
export function withinTarget(chunks: ChunkRef[], target: number): ChunkRef[] {
  const breaking = chunks.findIndex((c) => Math.round(c.durationMs / 1000) > target);
  return breaking < 0 ? chunks : chunks.slice(0, breaking);
}
