// Playlist text, RFC 8216. Pure functions of chunk lists so they are tested
// without Redis; the callers decide URIs and playlist type.
import type { ChunkRef } from '../dvr/chunk-ref.js';

export type PlaylistType = 'LIVE' | 'EVENT' | 'VOD';

export interface MediaPlaylistInput {
  type: PlaylistType;
  targetDuration: number;
  mediaSequence: number;
  discontinuitySequence: number;
  chunks: ChunkRef[];
  uri(chunk: ChunkRef): string;
  /** The URI of an fMP4 init segment, by id (chunks with an `init`); EXT-X-MAP names it. */
  initUri?(init: string): string;
  /**
   * Live only: seconds from the playlist's end within which chunks are never
   * skipped. Given, the playlist offers delta updates (EXT-X-SERVER-CONTROL
   * CAN-SKIP-UNTIL, RFC 8216bis 4.4.3.8) once chunks lie that far back, and
   * buildMediaPlaylists writes one.
   */
  skipBoundary?: number;
}

/** Chunk URIs end so a player can tell the format (hls.js and ffmpeg look at EXT-X-MAP, some players at the name). */
export function chunkExtension(chunk: ChunkRef): string {
  return chunk.init ? 'm4s' : 'ts';
}

/** Less than this between one chunk's end and the next one's start is no gap (renditions differ by a few ms). */
const GAP_MS = 500;

export function buildMediaPlaylist(input: MediaPlaylistInput): string {
  return buildMediaPlaylists(input).full;
}

/**
 * The playlist, and where it offers them (skipBoundary) its delta update
 * (RFC 8216bis 6.2.5.1): the same text with the chunks further from the end
 * than the boundary, and every tag applied to them, replaced by one
 * EXT-X-SKIP. What follows it is the full text's tail line for line, so a
 * player that merges it into its copy holds the full playlist. Null: nothing
 * lies that far back yet (the full playlist is the answer).
 */
export function buildMediaPlaylists(input: MediaPlaylistInput): { full: string; delta: string | null } {
  // EXT-X-MAP outside an I-frame playlist needs version 6 or more (RFC 8216
  // section 7); 7 as ffmpeg writes for fMP4.
  const fmp4 = input.chunks.some((c) => c.init);
  const version = fmp4 ? 7 : 3;
  const head = [`#EXT-X-TARGETDURATION:${input.targetDuration}`];
  const skipped = input.skipBoundary === undefined ? 0 : skippable(input.chunks, input.skipBoundary * 1000);
  // No version needed for it (RFC 8216bis section 8): players that know
  // nothing of delta updates ignore it and read today's playlist. Offered
  // only once a delta would skip something: a server that offers it must
  // answer _HLS_skip with a delta (6.2.5.1).
  if (skipped > 0) head.push(`#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=${input.skipBoundary}`);
  head.push(`#EXT-X-MEDIA-SEQUENCE:${input.mediaSequence}`);
  // Skipping leaves this as it is (4.4.5.2): a player counts the
  // discontinuities of the skipped part in its own copy.
  head.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${input.discontinuitySequence}`);
  if (input.type !== 'LIVE') head.push(`#EXT-X-PLAYLIST-TYPE:${input.type}`);
  head.push('#EXT-X-INDEPENDENT-SEGMENTS');
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${version}`, ...head];
  /** Index in `lines` of each chunk's first line (its tags, then EXTINF and URI). */
  const firstLine: number[] = [];
  let previous: ChunkRef | undefined;
  for (const chunk of input.chunks) {
    firstLine.push(lines.length);
    const discontinuity = previous !== undefined && (chunk.discontinuity || chunk.discSeq !== previous.discSeq);
    if (discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    // Also dated where time jumps with no discontinuity (a chunk whose bytes
    // never came was skipped), so a player's clock stays the DVR's.
    const gap = previous !== undefined && Math.abs(chunk.start - (previous.start + previous.durationMs)) > GAP_MS;
    if (previous === undefined || discontinuity || gap) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(chunk.start).toISOString()}`);
    }
    // The init applies to every chunk after it until the next EXT-X-MAP: named
    // at the first chunk and again where it changes (an encoder restarted
    // with other parameters).
    if (chunk.init && input.initUri && (previous === undefined || previous.init !== chunk.init)) {
      lines.push(`#EXT-X-MAP:URI="${input.initUri(chunk.init)}"`);
    }
    lines.push(`#EXTINF:${(chunk.durationMs / 1000).toFixed(3)},`, input.uri(chunk));
    previous = chunk;
  }
  if (input.type === 'VOD') lines.push('#EXT-X-ENDLIST');
  const full = lines.join('\n') + '\n';
  if (skipped === 0) return { full, delta: null };
  // EXT-X-SKIP needs version 9 (RFC 8216bis section 8).
  const delta = ['#EXTM3U', '#EXT-X-VERSION:9', ...head, `#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`];
  // The init the first chunk kept plays with was named before it, in the
  // skipped part; it applies to the kept chunks too, so it stays (4.4.5.2:
  // only tags of skipped chunks go).
  const kept = input.chunks[skipped];
  if (kept.init && input.initUri && input.chunks[skipped - 1].init === kept.init) {
    delta.push(`#EXT-X-MAP:URI="${input.initUri(kept.init)}"`);
  }
  return { full, delta: delta.concat(lines.slice(firstLine[skipped])).join('\n') + '\n' };
}

/**
 * How many of the first chunks end further than `boundaryMs` from the end of
 * the last one (RFC 8216bis 6.2.5.1: those a delta update replaces).
 */
function skippable(chunks: ChunkRef[], boundaryMs: number): number {
  let after = 0;
  for (let i = chunks.length - 1; i >= 0; i--) {
    if (after > boundaryMs) return i + 1;
    after += chunks[i].durationMs;
  }
  return 0;
}

/** Smallest target duration valid for these chunks: every EXTINF rounded must fit. */
export function targetDurationFor(chunks: ChunkRef[], floor = 1): number {
  return chunks.reduce((t, c) => Math.max(t, Math.round(c.durationMs / 1000)), floor);
}

export interface VariantInput {
  uri: string;
  chunks: ChunkRef[];
  codecs?: string;
  width?: number;
  height?: number;
  frameRate?: number;
  /** Used when there are no chunks to measure (live, before the first chunk). */
  fallbackBandwidth?: number;
}

export function measureBandwidth(chunks: ChunkRef[]): { peak: number; average: number } {
  let peak = 0;
  let bytes = 0;
  let ms = 0;
  for (const c of chunks) {
    if (c.durationMs <= 0) continue;
    peak = Math.max(peak, Math.ceil((c.size * 8 * 1000) / c.durationMs));
    bytes += c.size;
    ms += c.durationMs;
  }
  return { peak, average: ms > 0 ? Math.ceil((bytes * 8 * 1000) / ms) : 0 };
}

export function buildMasterPlaylist(variants: VariantInput[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of variants) {
    const measured = measureBandwidth(v.chunks);
    const attrs = [`BANDWIDTH=${measured.peak || v.fallbackBandwidth || 1}`];
    if (measured.average) attrs.push(`AVERAGE-BANDWIDTH=${measured.average}`);
    if (v.codecs) attrs.push(`CODECS="${v.codecs}"`);
    if (v.width && v.height) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    if (v.frameRate) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  return lines.join('\n') + '\n';
}
