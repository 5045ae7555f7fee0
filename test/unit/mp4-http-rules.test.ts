import { describe, expect, it } from 'vitest';
import { contentDisposition, parseRange } from '../../src/mp4/http-rules.js';
import { Mp4Index } from '../../src/mp4/cache-index.js';

describe('parseRange', () => {
  const size = 1000;
  it.each([
    ['bytes=0-99', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=990-', { kind: 'partial', start: 990, end: 999 }],
    ['bytes=-10', { kind: 'partial', start: 990, end: 999 }],
    ['bytes=-5000', { kind: 'partial', start: 0, end: 999 }],
    ['bytes=500-5000', { kind: 'partial', start: 500, end: 999 }],
    ['Bytes=0-0', { kind: 'partial', start: 0, end: 0 }],
    [' bytes=1-2 ', { kind: 'partial', start: 1, end: 2 }],
  ])('%s is one satisfiable range', (header, answer) => {
    expect(parseRange(header, size)).toEqual(answer);
  });

  it.each(['bytes=1000-', 'bytes=1000-2000', 'bytes=-0', 'bytes=99999999999999999999-'])('%s cannot be met (416)', (header) => {
    expect(parseRange(header, size)).toEqual({ kind: 'unsatisfiable' });
  });

  it.each([undefined, '', 'bytes=', 'bytes=-', 'bytes=5-2', 'bytes=0-1,5-6', 'bytes=0-1, 5-6', 'items=0-5', 'bytes=a-b', 'bytes=1.5-2'])(
    '%s is ignored: the whole file',
    (header) => {
      expect(parseRange(header, size)).toEqual({ kind: 'whole' });
    },
  );
});

describe('contentDisposition', () => {
  it('is absent without a filename', () => {
    expect(contentDisposition(undefined)).toEqual({ ok: true });
  });

  it('quotes a plain name, adds .mp4 when missing and drops quotes', () => {
    expect(contentDisposition('goal.mp4')).toEqual({ ok: true, disposition: 'attachment; filename="goal.mp4"' });
    expect(contentDisposition('goal')).toEqual({ ok: true, disposition: 'attachment; filename="goal.mp4"' });
    expect(contentDisposition('the "best".MP4')).toEqual({ ok: true, disposition: 'attachment; filename="the best.MP4"' });
  });

  it('carries non-ASCII names in filename* with an ASCII fallback', () => {
    expect(contentDisposition("l'été (1).mp4")).toEqual({
      ok: true,
      disposition: `attachment; filename="l'_t_ (1).mp4"; filename*=UTF-8''l%27%C3%A9t%C3%A9%20%281%29.mp4`,
    });
  });

  it.each(['a/b.mp4', '..\\x.mp4', 'a\nb.mp4', 'a\u0000.mp4', 'a\u007f.mp4', '', '""', 'x'.repeat(201), ['a', 'b']])(
    'refuses %j',
    (raw) => {
      expect(contentDisposition(raw).ok).toBe(false);
    },
  );
});

describe('Mp4Index', () => {
  it('evicts the least recently used files beyond the byte bound, keeping the newest alone if need be', () => {
    const evicted: string[] = [];
    const index = new Mp4Index(100, (key) => evicted.push(key));
    index.touch('a', { size: 40 });
    index.touch('b', { size: 40 });
    expect(index.get('a')).toEqual({ size: 40 }); // a is now the most recent
    index.touch('c', { size: 40 });
    expect(evicted).toEqual(['b']);
    expect(index.bytes).toBe(80);
    index.touch('huge', { size: 500 });
    expect(evicted).toEqual(['b', 'a', 'c']);
    expect(index.keys()).toEqual(['huge']);
  });
});
