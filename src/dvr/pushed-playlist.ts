// Reads what an encoder pushes as a playlist. Only the facts the DVR needs are
// kept: for a master, what each variant declares; for a media playlist, each
// chunk's place (media sequence), duration, discontinuity and program date time.
import { Parser } from 'm3u8-parser';

export interface PushedVariant {
  uri: string;
  bandwidth?: number;
  codecs?: string;
  width?: number;
  height?: number;
  frameRate?: number;
}

export interface PushedSegment {
  uri: string;
  seq: number;
  durationMs: number;
  discontinuity: boolean;
  /** Only when the encoder wrote EXT-X-PROGRAM-DATE-TIME for this chunk. */
  programDateTimeMs?: number;
  /** fMP4: the file name of the init segment (EXT-X-MAP URI) this chunk plays with. */
  map?: string;
}

export type PushedPlaylist =
  | { kind: 'master'; variants: PushedVariant[] }
  | { kind: 'media'; targetDuration: number; segments: PushedSegment[] };

export class BadPlaylistError extends Error {}

// A plain file name that opens with a letter or digit: never "." or "..".
const CHUNK_URI = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function parsePushedPlaylist(text: string): PushedPlaylist {
  if (!/^\uFEFF?\s*#EXTM3U/.test(text)) throw new BadPlaylistError('not an HLS playlist: it must start with #EXTM3U');
  const parser = new Parser();
  parser.push(text);
  parser.end();
  const manifest = parser.manifest;
  if (manifest.playlists && manifest.playlists.length > 0) {
    return { kind: 'master', variants: manifest.playlists.map(variantOf) };
  }
  const firstSeq = manifest.mediaSequence ?? 0;
  // Sequence numbers are exact up to 2^53 (ffmpeg's epoch_us numbering is
  // about 2^51): past that they could not be told apart.
  if (!Number.isSafeInteger(firstSeq + manifest.segments.length) || firstSeq < 0) {
    throw new BadPlaylistError('EXT-X-MEDIA-SEQUENCE must be a whole number from 0 to 2^53');
  }
  const segments = manifest.segments.map((segment, i): PushedSegment => {
    const uri = chunkName(segment.uri);
    if (!(segment.duration > 0) || segment.duration > 600) {
      throw new BadPlaylistError(`chunk ${uri} has an invalid EXTINF duration`);
    }
    return {
      uri,
      seq: firstSeq + i,
      durationMs: Math.round(segment.duration * 1000),
      discontinuity: segment.discontinuity === true,
      programDateTimeMs: segment.dateTimeString ? Date.parse(segment.dateTimeString) || undefined : undefined,
      map: segment.map?.uri ? initName(segment.map.uri) : undefined,
    };
  });
  const longest = Math.max(0, ...segments.map((s) => s.durationMs));
  return { kind: 'media', targetDuration: Math.max(manifest.targetDuration ?? 0, Math.round(longest / 1000)), segments };
}

function variantOf(variant: { uri: string; attributes: Record<string, unknown> }): PushedVariant {
  const a = variant.attributes as {
    BANDWIDTH?: number; CODECS?: string; RESOLUTION?: { width: number; height: number }; 'FRAME-RATE'?: number;
  };
  return {
    uri: playlistName(variant.uri),
    bandwidth: a.BANDWIDTH,
    codecs: a.CODECS,
    width: a.RESOLUTION?.width,
    height: a.RESOLUTION?.height,
    frameRate: a['FRAME-RATE'],
  };
}

/** Chunks are addressed by their last path component, relative to the push URL. */
function chunkName(uri: string): string {
  const name = uri.split('?')[0].split('/').pop() ?? '';
  if (!CHUNK_URI.test(name)) throw new BadPlaylistError(`chunk name "${uri.slice(0, 80)}" is not a plain file name`);
  return name;
}

function initName(uri: string): string {
  const name = uri.split('?')[0].split('/').pop() ?? '';
  if (!CHUNK_URI.test(name)) throw new BadPlaylistError(`EXT-X-MAP URI "${uri.slice(0, 80)}" is not a plain file name`);
  return name;
}

export function playlistName(uri: string): string {
  const name = uri.split('?')[0].split('/').pop() ?? '';
  if (!CHUNK_URI.test(name)) throw new BadPlaylistError(`playlist name "${uri.slice(0, 80)}" is not a plain file name`);
  return name.replace(/\.m3u8$/, '');
}
