// fMP4/CMAF chunks (RFC 8216 section 3.3): a media segment (`styp`/`moof`
// boxes, usually .m4s) plays only after its Media Initialization Section
// (`ftyp` + `moov`, the file EXT-X-MAP names). What an uploaded file is comes
// from its bytes, not its name: the encoder names its files as it likes.
import { createHash } from 'node:crypto';

export type UploadKind = 'ts' | 'init' | 'fmp4' | 'unknown';

/** Top-level boxes an fMP4 media segment may open with. */
const SEGMENT_FIRST_BOXES = new Set(['styp', 'moof', 'sidx', 'emsg', 'prft']);
/** Only the first boxes are looked at: a sniff must stay cheap on 64 MiB uploads. */
const BOXES_LOOKED_AT = 16;

function boxTypes(bytes: Buffer): string[] {
  const types: string[] = [];
  let at = 0;
  while (at + 8 <= bytes.length && types.length < BOXES_LOOKED_AT) {
    let size = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (!/^[a-z0-9 ]{4}$/i.test(type)) break;
    types.push(type);
    if (size === 1 && at + 16 <= bytes.length) size = Number(bytes.readBigUInt64BE(at + 8));
    if (size === 0) break; // to the end of the file
    if (size < 8) break;
    at += size;
  }
  return types;
}

/** What an uploaded chunk-like file holds. */
export function sniffUpload(bytes: Buffer): UploadKind {
  if (bytes.length >= 188 && bytes[0] === 0x47) return 'ts';
  const types = boxTypes(bytes);
  if (types.length === 0) return 'unknown';
  if (types[0] === 'ftyp' && types.includes('moov') && !types.includes('moof')) return 'init';
  if (SEGMENT_FIRST_BOXES.has(types[0]) && !types.includes('moov')) return 'fmp4';
  return 'unknown';
}

/** An init segment's id: its content hash, so an init sent again is stored once and a changed one anew. */
export function initId(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export const INIT_ID = /^[0-9a-f]{16}$/;
