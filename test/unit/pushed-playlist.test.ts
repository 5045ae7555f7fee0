// What an encoder pushes as a playlist (SPEC 4).
import { describe, expect, it } from 'vitest';
import { BadPlaylistError, parsePushedPlaylist, playlistName } from '../../src/dvr/pushed-playlist.js';

const MEDIA = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-PROGRAM-DATE-TIME:2024-05-01T10:00:00.000Z
#EXTINF:2.000000,
stream_0_00007.ts
#EXTINF:1.500000,
http://encoder.example/live/stream_0_00008.ts?token=x
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2024-05-01T11:00:00.000Z
#EXTINF:2.6,
stream_0_00000.ts
`;

const MASTER = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=345400,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2",FRAME-RATE=25
stream_0.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=1390400,RESOLUTION=1280x720,CODECS="avc1.42c01f,mp4a.40.2"
sub/stream_2.m3u8?x=1
`;

function bad(text: string): string {
  try {
    parsePushedPlaylist(text);
  } catch (err) {
    expect(err).toBeInstanceOf(BadPlaylistError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('parsePushedPlaylist', () => {
  it('reads a media playlist: sequence, duration, discontinuity and program date time of each chunk', () => {
    const playlist = parsePushedPlaylist(MEDIA);
    expect(playlist).toEqual({
      kind: 'media',
      // EXTINF 2.6 rounds to 3, above the declared 2.
      targetDuration: 3,
      segments: [
        { uri: 'stream_0_00007.ts', seq: 7, durationMs: 2000, discontinuity: false, programDateTimeMs: Date.UTC(2024, 4, 1, 10) },
        { uri: 'stream_0_00008.ts', seq: 8, durationMs: 1500, discontinuity: false, programDateTimeMs: undefined },
        { uri: 'stream_0_00000.ts', seq: 9, durationMs: 2600, discontinuity: true, programDateTimeMs: Date.UTC(2024, 4, 1, 11) },
      ],
    });
  });

  it('leaves the program date time out when the encoder sent none', () => {
    const playlist = parsePushedPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\na.ts\n');
    expect(playlist.kind === 'media' && playlist.segments[0]).toEqual({
      uri: 'a.ts', seq: 0, durationMs: 1000, discontinuity: false, programDateTimeMs: undefined,
    });
  });

  it('reads a master playlist: what each variant declares, by playlist name', () => {
    expect(parsePushedPlaylist(MASTER)).toEqual({
      kind: 'master',
      variants: [
        { uri: 'stream_0', bandwidth: 345400, codecs: 'avc1.42c015,mp4a.40.2', width: 426, height: 240, frameRate: 25 },
        { uri: 'stream_2', bandwidth: 1390400, codecs: 'avc1.42c01f,mp4a.40.2', width: 1280, height: 720, frameRate: undefined },
      ],
    });
  });

  it('accepts a byte order mark and leading blank lines', () => {
    expect(parsePushedPlaylist('\uFEFF\n#EXTM3U\n#EXTINF:1,\na.ts\n').kind).toBe('media');
  });

  it('refuses what is not a playlist', () => {
    expect(bad('hello world')).toMatch(/must start with #EXTM3U/);
    expect(bad('')).toMatch(/must start with #EXTM3U/);
    expect(bad('\x47\x40\x00\x10 binary transport stream')).toMatch(/#EXTM3U/);
  });

  it('refuses chunks without a usable duration', () => {
    expect(bad('#EXTM3U\n#EXTINF:-1,\na.ts\n')).toMatch(/a\.ts has an invalid EXTINF duration/);
    expect(bad('#EXTM3U\n#EXTINF:601,\na.ts\n')).toMatch(/invalid EXTINF/);
  });

  it('keeps only the last path component of a chunk URI, so ../ cannot climb anywhere', () => {
    const playlist = parsePushedPlaylist('#EXTM3U\n#EXTINF:1,\n../../etc/a.ts\n');
    expect(playlist.kind === 'media' && playlist.segments[0].uri).toBe('a.ts');
  });

  it('refuses chunk names that are not plain file names', () => {
    for (const uri of ['..', '.', '../', 'a b.ts', 'a%2F..%2Fb.ts', '.hidden.ts', `${'a'.repeat(201)}.ts`]) {
      expect(bad(`#EXTM3U\n#EXTINF:1,\n${uri}\n`)).toMatch(/is not a plain file name/);
    }
  });

  it('refuses variant playlist names that are not plain file names', () => {
    expect(bad('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n../..\n')).toMatch(/playlist name/);
  });
});

describe('playlistName', () => {
  it('is the file name without .m3u8, and refuses the rest', () => {
    expect(playlistName('stream_0.m3u8')).toBe('stream_0');
    expect(playlistName('https://x/y/stream_1.m3u8?t=1')).toBe('stream_1');
    expect(() => playlistName('..')).toThrow(BadPlaylistError);
    expect(() => playlistName('.m3u8')).toThrow(BadPlaylistError);
  });
});

describe('media sequence numbers', () => {
  const at = (seq: string) => `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:${seq}\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n`;

  it('keeps epoch_us numbers exact', () => {
    const playlist = parsePushedPlaylist(at('1764583200123456'));
    expect(playlist.kind === 'media' && playlist.segments.map((s) => s.seq)).toEqual([1764583200123456, 1764583200123457]);
  });

  it('refuses numbers past 2^53, which could not be told apart', () => {
    expect(() => parsePushedPlaylist(at('9007199254740991'))).toThrow(BadPlaylistError);
    expect(() => parsePushedPlaylist(at('9007199254740993'))).toThrow(/MEDIA-SEQUENCE/);
  });
});
