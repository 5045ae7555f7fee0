// Playlist text (SPEC 6.1, RFC 8216), as pure functions of chunk lists.
import { describe, expect, it } from 'vitest';
import type { ChunkRef } from '../../src/dvr/chunk-ref.js';
import {
  buildMasterPlaylist, buildMediaPlaylist, buildMediaPlaylists, measureBandwidth, targetDurationFor, type PlaylistType,
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

describe('buildMediaPlaylists: delta updates (RFC 8216bis 6.2.5.1)', () => {
  const live = (refs: ChunkRef[], skipBoundary?: number, init?: (i: number) => string | undefined) => buildMediaPlaylists({
    type: 'LIVE', targetDuration: 1, mediaSequence: 7, discontinuitySequence: 2, skipBoundary,
    chunks: init ? refs.map((r, i) => ({ ...r, init: init(i) })) : refs,
    uri: (c) => `c_${c.id}.${c.init ? 'm4s' : 'ts'}`, initUri: (id) => `init_${id}.mp4`,
  });
  const uris = (text: string) => text.split('\n').filter((l) => l.startsWith('c_'));

  it('without a boundary: the playlist as ever, no delta', () => {
    const refs = chunks(Array(20).fill(1000));
    expect(live(refs)).toEqual({ full: buildMediaPlaylist({
      type: 'LIVE', targetDuration: 1, mediaSequence: 7, discontinuitySequence: 2, chunks: refs, uri: (c) => `c_${c.id}.ts`,
    }), delta: null });
    expect(live(refs).full).not.toContain('SERVER-CONTROL');
  });

  it('the full playlist gains CAN-SKIP-UNTIL, nothing else; the delta skips what ends further than the boundary from the end', () => {
    const refs = chunks(Array(20).fill(1000));
    const { full, delta } = live(refs, 6);
    expect(full.split('\n').slice(0, 4)).toEqual(['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6']);
    expect(full.replace('#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6\n', '')).toBe(live(refs).full);
    const lines = delta!.split('\n');
    // Chunk 13 ends 6 s before the end (not further): kept, with the 6 after it.
    expect(lines.slice(0, 8)).toEqual(['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:1', '#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6',
      '#EXT-X-MEDIA-SEQUENCE:7', '#EXT-X-DISCONTINUITY-SEQUENCE:2', '#EXT-X-INDEPENDENT-SEGMENTS', '#EXT-X-SKIP:SKIPPED-SEGMENTS=13']);
    expect(uris(delta!)).toEqual(uris(full).slice(13));
    expect(full.endsWith(lines.slice(8).join('\n'))).toBe(true);
  });

  it('no delta while nothing lies past the boundary', () => {
    expect(live(chunks(Array(7).fill(1000)), 6).delta).toBeNull();
    expect(live(chunks(Array(8).fill(1000)), 6).delta).toContain('SKIPPED-SEGMENTS=1\n');
    // Offered only where a delta skips something (a server offering it must answer with one).
    expect(live(chunks(Array(7).fill(1000)), 6).full).not.toContain('CAN-SKIP-UNTIL');
    expect(live(chunks(Array(8).fill(1000)), 6).full).toContain('#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6\n');
    expect(live([], 6)).toEqual({ full: expect.not.stringContaining('CAN-SKIP-UNTIL'), delta: null });
  });

  it('a discontinuity in the skipped part leaves the header as it was; one in the kept part stays, dated', () => {
    const early = live(chunks(Array(20).fill(1000), { disc: [5] }), 6);
    expect(early.delta).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:2\n');
    expect(early.delta).not.toContain('#EXT-X-DISCONTINUITY\n');
    expect(early.delta).not.toContain('PROGRAM-DATE-TIME');
    const refs = chunks(Array(20).fill(1000), { disc: [16] });
    const late = live(refs, 6).delta!.split('\n');
    const at = late.indexOf('#EXT-X-DISCONTINUITY');
    expect(late.slice(at, at + 4)).toEqual(['#EXT-X-DISCONTINUITY', `#EXT-X-PROGRAM-DATE-TIME:${new Date(refs[16].start).toISOString()}`, '#EXTINF:1.000,', 'c_g.ts']);
  });

  it('fMP4: the delta names the init its first chunk plays with; an init change in the kept part stays as it is', () => {
    const refs = chunks(Array(20).fill(1000));
    const { full, delta } = live(refs, 6, (i) => (i < 17 ? 'aaaa' : 'bbbb'));
    expect(full.match(/EXT-X-MAP/g)).toHaveLength(2);
    const lines = delta!.split('\n');
    expect(lines.slice(1, 2)).toEqual(['#EXT-X-VERSION:9']);
    expect(lines.slice(7, 10)).toEqual(['#EXT-X-SKIP:SKIPPED-SEGMENTS=13', '#EXT-X-MAP:URI="init_aaaa.mp4"', '#EXTINF:1.000,']);
    expect(lines.filter((l) => l.startsWith('#EXT-X-MAP'))).toEqual(['#EXT-X-MAP:URI="init_aaaa.mp4"', '#EXT-X-MAP:URI="init_bbbb.mp4"']);
    expect(full.endsWith(lines.slice(9).join('\n'))).toBe(true);
    // Where the first kept chunk starts a new init, its own EXT-X-MAP is the one.
    const changed = live(refs, 6, (i) => (i < 13 ? 'aaaa' : 'bbbb')).delta!;
    expect(changed.split('\n').filter((l) => l.startsWith('#EXT-X-MAP'))).toEqual(['#EXT-X-MAP:URI="init_bbbb.mp4"']);
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
