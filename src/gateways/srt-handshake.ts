// Just enough of SRT's handshake (the SRT protocol draft, HSv5) to route a
// caller by its stream id: recognise handshake packets, answer an induction,
// read the SID extension of a conclusion, swap a cookie, make a rejection.
// Everything past the handshake (data, ACKs, keys) is relayed untouched.

export const HS_INDUCTION = 1;
export const HS_CONCLUSION = 0xffffffff;
/** libsrt: a rejection is the handshake type 1000 + reason; 1403 is SRT_REJX_FORBIDDEN, 1404 SRT_REJX_NOTFOUND. */
export const REJECT_FORBIDDEN = 1000 + 1403;
export const REJECT_NOT_FOUND = 1000 + 1404;
const SRT_MAGIC = 0x4a17;
const EXT_SID = 5;
const CIF = 16;

export function isHandshake(p: Buffer): boolean {
  // Control bit set, control type 0 (handshake), and a whole handshake body.
  return p.length >= CIF + 48 && (p[0] & 0x80) !== 0 && (p.readUInt16BE(0) & 0x7fff) === 0;
}

export function handshakeType(p: Buffer): number {
  return p.readUInt32BE(CIF + 20);
}

export function socketIdOf(p: Buffer): number {
  return p.readUInt32BE(CIF + 24);
}

export function cookieOf(p: Buffer): number {
  return p.readUInt32BE(CIF + 28);
}

/** A copy with another SYN cookie (and destination socket 0: the listening socket). */
export function withCookie(p: Buffer, cookie: number): Buffer {
  const out = Buffer.from(p);
  out.writeUInt32BE(cookie >>> 0, CIF + 28);
  out.writeUInt32BE(0, 12);
  return out;
}

/** The listener's answer to an induction: HSv5, the SRT magic, our cookie, addressed to the caller's socket. */
export function inductionResponse(request: Buffer, cookie: number, ourSocketId: number): Buffer {
  const out = Buffer.from(request.subarray(0, CIF + 48));
  out.writeUInt32BE(socketIdOf(request), 12);
  out.writeUInt32BE(5, CIF);
  out.writeUInt16BE(0, CIF + 4);
  out.writeUInt16BE(SRT_MAGIC, CIF + 6);
  out.writeUInt32BE(HS_INDUCTION, CIF + 20);
  out.writeUInt32BE(ourSocketId >>> 0, CIF + 24);
  out.writeUInt32BE(cookie >>> 0, CIF + 28);
  return out;
}

/** A rejection of a conclusion, as a listener sends it. */
export function rejection(request: Buffer, type: number): Buffer {
  const out = Buffer.from(request.subarray(0, CIF + 48));
  out.writeUInt32BE(socketIdOf(request), 12);
  out.writeUInt32BE(type, CIF + 20);
  return out;
}

/** The SID extension of a conclusion: words of four bytes, each stored backwards. '' when none. */
export function streamIdOf(p: Buffer): string {
  let at = CIF + 48;
  while (at + 4 <= p.length) {
    const type = p.readUInt16BE(at);
    const words = p.readUInt16BE(at + 2);
    const end = at + 4 + words * 4;
    if (end > p.length) break;
    if (type === EXT_SID) {
      const bytes = Buffer.alloc(words * 4);
      for (let w = 0; w < words; w++) {
        for (let b = 0; b < 4; b++) bytes[w * 4 + b] = p[at + 4 + w * 4 + (3 - b)];
      }
      return bytes.toString('utf8').replace(/\0+$/, '');
    }
    at = end;
  }
  return '';
}

/**
 * The stream key in a stream id: the id itself, or the `r` of SRT's access
 * control syntax (`#!::r=KEY,m=publish`); null when it asks to read, not publish.
 */
export function streamKeyOf(streamId: string): string | null {
  if (!streamId.startsWith('#!::')) return streamId;
  const fields = new Map(streamId.slice(4).split(',').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)] as [string, string];
  }));
  if ((fields.get('m') ?? 'publish') !== 'publish') return null;
  return fields.get('r') ?? '';
}
