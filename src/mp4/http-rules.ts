// The pure HTTP rules of MP4 delivery: which bytes a Range header asks for,
// and what a ?filename= may be. No I/O, so they are unit-tested on their own.

export type RangeAnswer =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes=(\d{0,20})-(\d{0,20})$/i;

// RFC 9110 §14. Policy:
// - one well-formed range (`a-b`, `a-`, `-n`) inside the file: 206;
// - one well-formed range that cannot be met (starts at or past the end, or
//   `-0`): 416 with `Content-Range: bytes */size`;
// - anything else (no header, another unit, malformed like `bytes=5-2`, and
//   multi-range `bytes=0-1,4-5`): the Range header is ignored and the whole
//   file is sent with 200. RFC 9110 §14.2 lets a server ignore Range, and a
//   full 200 is always a correct answer, while 416 for multi-range would
//   claim the ranges cannot be met, which is false. Players never ask for
//   several ranges, so multipart/byteranges is not worth its code.
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const m = SINGLE_RANGE.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return { kind: 'whole' }; // invalid syntax per §14.1.1: ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(last, size - 1) };
}

export type FilenameAnswer = { ok: true; disposition?: string } | { ok: false; message: string };

const FORBIDDEN = /[/\\\u0000-\u001f\u007f]/;

/**
 * `?filename=NAME.mp4` → a Content-Disposition value. Path separators and
 * control characters are refused (400) rather than silently changed, so a
 * caller learns its link is wrong; quotes are dropped because they would
 * end the quoted-string. ".mp4" is added when missing. Non-ASCII names go in
 * `filename*` (RFC 6266/8187) with an ASCII fallback in `filename`.
 */
export function contentDisposition(raw: unknown): FilenameAnswer {
  if (raw === undefined) return { ok: true };
  if (typeof raw !== 'string') return { ok: false, message: 'filename must be given once' };
  if (FORBIDDEN.test(raw)) return { ok: false, message: 'filename must not contain path separators or control characters' };
  let name = raw.replace(/"/g, '').trim();
  if (name === '' || name.length > 200) return { ok: false, message: 'filename must have 1 to 200 characters' };
  if (!/\.mp4$/i.test(name)) name += '.mp4';
  const ascii = name.replace(/[^\x20-\x7e]/g, '_');
  if (ascii === name) return { ok: true, disposition: `attachment; filename="${name}"` };
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return { ok: true, disposition: `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}` };
}
