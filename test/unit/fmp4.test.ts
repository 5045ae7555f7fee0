// fMP4 chunks: telling uploads apart by their bytes, the member's init id,
// and EXT-X-MAP in playlists (RFC 8216 4.3.2.5 and section 7).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatChunkMember, parseChunkRef, type ChunkRef } from '../../src/dvr/chunk-ref.js';
import { initId, sniffUpload } from '../../src/dvr/fmp4.js';
import { buildMediaPlaylist, chunkExtension } from '../../src/hls/build.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fmp4-unit-'));
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x36:rate=10', '-t', '2',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod',
    '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', path.join(dir, 's%d.m4s'), path.join(dir, 'p.m3u8')]);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x36:rate=10', '-t', '1',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mpegts', path.join(dir, 'c.ts')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sniffUpload', () => {
  it('tells an init segment, an fMP4 media segment and a TS chunk by their bytes', () => {
    expect(sniffUpload(readFileSync(path.join(dir, 'init.mp4')))).toBe('init');
    const segments = readdirSync(dir).filter((f) => f.endsWith('.m4s'));
    expect(segments.length).toBeGreaterThan(0);
    for (const f of segments) expect(sniffUpload(readFileSync(path.join(dir, f)))).toBe('fmp4');
    expect(sniffUpload(readFileSync(path.join(dir, 'c.ts')))).toBe('ts');
  });

  it('calls anything else unknown: text, a truncated box, a whole MP4 with fragments inside', () => {
    expect(sniffUpload(Buffer.from('hello, this is not video'))).toBe('unknown');
    expect(sniffUpload(Buffer.alloc(0))).toBe('unknown');
    expect(sniffUpload(Buffer.from([0, 0, 0, 3, 0x66, 0x74, 0x79, 0x70]))).toBe('unknown');
    const init = readFileSync(path.join(dir, 'init.mp4'));
    const segment = readFileSync(path.join(dir, 's0.m4s'));
    expect(sniffUpload(Buffer.concat([init, segment]))).toBe('unknown');
  });

  it('ids an init by its content', () => {
    const init = readFileSync(path.join(dir, 'init.mp4'));
    expect(initId(init)).toMatch(/^[0-9a-f]{16}$/);
    expect(initId(Buffer.from(init))).toBe(initId(init));
    expect(initId(Buffer.concat([init, Buffer.from([0])]))).not.toBe(initId(init));
  });
});

describe('chunk member with an init', () => {
  it('reads back the init id; a TS member keeps its six fields', () => {
    const ref = { id: 'abc', durationMs: 2000, size: 10, discSeq: 0, discontinuity: false, n: 3 };
    expect(formatChunkMember(ref)).toBe('abc|2000|10|0|0|3');
    expect(parseChunkRef(formatChunkMember(ref), 5).init).toBeUndefined();
    const member = formatChunkMember({ ...ref, init: '0123456789abcdef' });
    expect(member).toBe('abc|2000|10|0|0|3|0123456789abcdef');
    expect(parseChunkRef(member, 5)).toEqual({ ...ref, start: 5, init: '0123456789abcdef' });
  });
});

describe('EXT-X-MAP', () => {
  const T0 = Date.UTC(2024, 4, 1);
  const ref = (i: number, init: string | undefined, discSeq = 0): ChunkRef => ({
    id: `c${i}`, start: T0 + i * 2000, durationMs: 2000, size: 1, discSeq, discontinuity: false, n: i, ...(init ? { init } : {}),
  });
  const build = (chunks: ChunkRef[]) => buildMediaPlaylist({
    type: 'VOD', targetDuration: 2, mediaSequence: 0, discontinuitySequence: 0, chunks,
    uri: (c) => `${c.id}.${chunkExtension(c)}`, initUri: (init) => `init_${init}.mp4`,
  }).split('\n');

  it('is named before the first chunk and again where the init changes; version 7', () => {
    const text = build([ref(0, 'aa'), ref(1, 'aa'), ref(2, 'bb', 1), ref(3, 'bb', 1)]);
    expect(text).toContain('#EXT-X-VERSION:7');
    expect(text.filter((l) => l.startsWith('#EXT-X-MAP:'))).toEqual(['#EXT-X-MAP:URI="init_aa.mp4"', '#EXT-X-MAP:URI="init_bb.mp4"']);
    const i = text.indexOf('#EXT-X-DISCONTINUITY');
    expect(text.slice(i, i + 3)).toEqual(['#EXT-X-DISCONTINUITY', '#EXT-X-PROGRAM-DATE-TIME:2024-05-01T00:00:04.000Z', '#EXT-X-MAP:URI="init_bb.mp4"']);
    expect(text.indexOf('#EXT-X-MAP:URI="init_aa.mp4"')).toBeLessThan(text.indexOf('c0.m4s'));
  });

  it('is absent from a TS playlist, which stays version 3', () => {
    const text = build([ref(0, undefined), ref(1, undefined)]);
    expect(text).toContain('#EXT-X-VERSION:3');
    expect(text.some((l) => l.startsWith('#EXT-X-MAP'))).toBe(false);
    expect(text).toContain('c0.ts');
  });
});
