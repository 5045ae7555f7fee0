// Playlist text (SPEC 6.1, RFC 8216), as pure functions of chunk lists.
import { describe, expect, it } from 'vitest';
import type { ChunkRef } from '../../src/dvr/chunk-ref.js';
import {
  buildMasterPlaylist, buildMediaPlaylist, measureBandwidth, targetDurationFor, type PlaylistType,
} from '../../src/hls/build.js';

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);

/** Consecutive chunks; `disc` lists the indexes that follow a discontinuity. */
function chunks(durationsMs: number[], opts: { disc?: number[]; size?: (i: number) => number } = {}): ChunkRef[] {
  let start = T0;
  let discSeq = 0;
  return durationsMs.map((durationMs, i) => {
    const discontinuity = opts.disc?.includes(i) ?? false;
    if (discontinuity) {
      discSeq += 1;
      start += 5000; // an encoder restart leaves a gap
    }
    const ref = { id: i.toString(36), start, durationMs, size: opts.size?.(i) ?? 1000, discSeq, discontinuity, n: i + 1 };
    start += durationMs;
    return ref;
  });
}

function media(type: PlaylistType, refs: ChunkRef[], targetDuration = targetDurationFor(refs)): string[] {
  return buildMediaPlaylist({
    type, targetDuration, mediaSequence: 7, discontinuitySequence: 2, chunks: refs, uri: (c) => `c_${c.id}.ts`,
  }).split('\n');
}

const tag = (lines: string[], name: string) => lines.filter((l) => l.startsWith(name));

describe('targetDurationFor', () => {
  it('is at least every EXTINF rounded to the nearest integer, and at least the floor', () => {
    expect(targetDurationFor(chunks([1400, 2500, 900]))).toBe(3);
    expect(targetDurationFor(chunks([1400, 2499]))).toBe(2);
    expect(targetDurationFor(chunks([400]))).toBe(1);
    expect(targetDurationFor(chunks([1000]), 4)).toBe(4);
    expect(targetDurationFor([])).toBe(1);
  });
});

describe('buildMediaPlaylist', () => {
  it('writes the header tags, each chunk with its EXTINF and URI, in order', () => {
    const lines = media('VOD', chunks([2000, 1500]));
    expect(lines.slice(0, 7)).toEqual([
      '#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:7',
      '#EXT-X-DISCONTINUITY-SEQUENCE:2', '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-INDEPENDENT-SEGMENTS',
    ]);
    expect(lines.filter((l) => l.startsWith('#EXTINF') || l.endsWith('.ts'))).toEqual([
      '#EXTINF:2.000,', 'c_0.ts', '#EXTINF:1.500,', 'c_1.ts',
    ]);
  });

  it('keeps every rounded EXTINF within TARGETDURATION', () => {
    const refs = chunks([2000, 2600, 1999, 3400]);
    const lines = media('VOD', refs);
    const target = Number(tag(lines, '#EXT-X-TARGETDURATION:')[0].split(':')[1]);
    for (const line of tag(lines, '#EXTINF:')) {
      expect(Math.round(Number(line.slice(8, -1)))).toBeLessThanOrEqual(target);
    }
    expect(target).toBe(3);
  });

  it('marks a recording clip EVENT, without ENDLIST', () => {
    const lines = media('EVENT', chunks([1000, 1000]));
    expect(tag(lines, '#EXT-X-PLAYLIST-TYPE')).toEqual(['#EXT-X-PLAYLIST-TYPE:EVENT']);
    expect(lines).not.toContain('#EXT-X-ENDLIST');
  });

  it('ends a ready clip with VOD and ENDLIST as the last tag', () => {
    const lines = media('VOD', chunks([1000, 1000])).filter(Boolean);
    expect(tag(lines, '#EXT-X-PLAYLIST-TYPE')).toEqual(['#EXT-X-PLAYLIST-TYPE:VOD']);
    expect(lines[lines.length - 1]).toBe('#EXT-X-ENDLIST');
  });

  it('gives a live playlist no PLAYLIST-TYPE and no ENDLIST', () => {
    const lines = media('LIVE', chunks([1000]));
    expect(tag(lines, '#EXT-X-PLAYLIST-TYPE')).toEqual([]);
    expect(lines).not.toContain('#EXT-X-ENDLIST');
    expect(lines).toContain('#EXT-X-INDEPENDENT-SEGMENTS');
  });

  it('puts PROGRAM-DATE-TIME on the first chunk and after each discontinuity only', () => {
    const refs = chunks([1000, 1000, 1000, 1000, 1000], { disc: [2, 4] });
    const lines = media('VOD', refs);
    expect(tag(lines, '#EXT-X-PROGRAM-DATE-TIME:')).toEqual([
      `#EXT-X-PROGRAM-DATE-TIME:${new Date(refs[0].start).toISOString()}`,
      `#EXT-X-PROGRAM-DATE-TIME:${new Date(refs[2].start).toISOString()}`,
      `#EXT-X-PROGRAM-DATE-TIME:${new Date(refs[4].start).toISOString()}`,
    ]);
    // Each date directly precedes the EXTINF of the chunk it dates, after the discontinuity.
    const at = lines.indexOf(`#EXT-X-PROGRAM-DATE-TIME:${new Date(refs[2].start).toISOString()}`);
    expect(lines.slice(at - 1, at + 3)).toEqual(['#EXT-X-DISCONTINUITY', lines[at], '#EXTINF:1.000,', 'c_2.ts']);
  });

  it('dates a chunk that follows a gap in time, with no DISCONTINUITY; a few ms are no gap', () => {
    const refs = chunks([1000, 1000, 1000, 1000]);
    refs[2] = { ...refs[2], start: refs[2].start + 3 };
    refs[3] = { ...refs[3], start: refs[3].start + 2000 };
    const lines = media('LIVE', refs);
    expect(tag(lines, '#EXT-X-PROGRAM-DATE-TIME:')).toEqual([
      `#EXT-X-PROGRAM-DATE-TIME:${new Date(refs[0].start).toISOString()}`,
      `#EXT-X-PROGRAM-DATE-TIME:${new Date(refs[3].start).toISOString()}`,
    ]);
    expect(lines).not.toContain('#EXT-X-DISCONTINUITY');
  });

  it('writes DISCONTINUITY where the source had one, never before the first chunk', () => {
    const refs = chunks([1000, 1000, 1000], { disc: [0, 2] });
    const lines = media('VOD', refs);
    expect(tag(lines, '#EXT-X-DISCONTINUITY')).toHaveLength(2); // the -SEQUENCE header and one before c_2
    expect(lines[lines.indexOf('c_2.ts') - 3]).toBe('#EXT-X-DISCONTINUITY');
    expect(lines.indexOf('#EXT-X-DISCONTINUITY')).toBeGreaterThan(lines.indexOf('c_1.ts'));
  });

  it('also breaks where the discontinuity count changes between two chunks (one was trimmed away)', () => {
    const refs = chunks([1000, 1000, 1000], { disc: [1] }).filter((_, i) => i !== 1);
    const lines = media('VOD', refs);
    expect(lines[lines.indexOf('c_2.ts') - 3]).toBe('#EXT-X-DISCONTINUITY');
  });

  it('writes an empty but valid playlist for no chunks', () => {
    const lines = media('LIVE', []);
    expect(lines[0]).toBe('#EXTM3U');
    expect(tag(lines, '#EXTINF')).toEqual([]);
  });
});

describe('buildMasterPlaylist', () => {
  const sizes = [125_000, 250_000, 100_000]; // 1, 2 and 0.8 Mbit/s over 1 s chunks
  const refs = chunks([1000, 1000, 1000], { size: (i) => sizes[i] });

  it('measures the peak and average bitrate of the chunks', () => {
    expect(measureBandwidth(refs)).toEqual({ peak: 2_000_000, average: Math.ceil((475_000 * 8) / 3) });
    expect(measureBandwidth(chunks([500], { size: () => 1 }))).toEqual({ peak: 16, average: 16 });
  });

  it('writes BANDWIDTH (peak), AVERAGE-BANDWIDTH, CODECS, RESOLUTION and FRAME-RATE per variant', () => {
    const text = buildMasterPlaylist([
      { uri: 'media_1_240.m3u8', chunks: refs, codecs: 'avc1.42c015,mp4a.40.2', width: 426, height: 240, frameRate: 25 },
    ]);
    expect(text.split('\n')).toEqual([
      '#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS',
      `#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=${Math.ceil((475_000 * 8) / 3)},CODECS="avc1.42c015,mp4a.40.2",RESOLUTION=426x240,FRAME-RATE=25.000`,
      'media_1_240.m3u8',
      '',
    ]);
  });

  it('falls back to the declared bandwidth with nothing to measure, and leaves out what is unknown', () => {
    const text = buildMasterPlaylist([{ uri: 'a.m3u8', chunks: [], fallbackBandwidth: 345_400 }, { uri: 'b.m3u8', chunks: [] }]);
    expect(text).toContain('#EXT-X-STREAM-INF:BANDWIDTH=345400\na.m3u8');
    expect(text).toContain('#EXT-X-STREAM-INF:BANDWIDTH=1\nb.m3u8');
    expect(text).not.toMatch(/AVERAGE-BANDWIDTH|CODECS|RESOLUTION|FRAME-RATE/);
  });

  it('writes a fractional frame rate with three decimals', () => {
    expect(buildMasterPlaylist([{ uri: 'a.m3u8', chunks: refs, frameRate: 29.97 }])).toContain('FRAME-RATE=29.970');
  });
});
