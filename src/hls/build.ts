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
}

/** Chunk URIs end so a player can tell the format (hls.js and ffmpeg look at EXT-X-MAP, some players at the name). */
export function chunkExtension(chunk: ChunkRef): string {
  return chunk.init ? 'm4s' : 'ts';
}

/** Less than this between one chunk's end and the next one's start is no gap (renditions differ by a few ms). */
const GAP_MS = 500;

export function buildMediaPlaylist(input: MediaPlaylistInput): string {
  // EXT-X-MAP outside an I-frame playlist needs version 6 or more (RFC 8216
  // section 7); 7 as ffmpeg writes for fMP4.
  const fmp4 = input.chunks.some((c) => c.init);
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${fmp4 ? 7 : 3}`, `#EXT-X-TARGETDURATION:${input.targetDuration}`];
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${input.mediaSequence}`);
  lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${input.discontinuitySequence}`);
  if (input.type !== 'LIVE') lines.push(`#EXT-X-PLAYLIST-TYPE:${input.type}`);
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  let previous: ChunkRef | undefined;
  for (const chunk of input.chunks) {
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
  return lines.join('\n') + '\n';
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
