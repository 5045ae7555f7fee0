// Pure helpers of the VOD access APIs: log redaction of tokens in URLs, and
// the file name a download is saved as.
import { describe, expect, it } from 'vitest';
import { downloadFilename } from '../../src/access/downloads.js';
import { redactUrl } from '../../src/logging.js';

describe('redactUrl', () => {
  it('hides access_token and user_token values wherever they sit in the query', () => {
    expect(redactUrl('/api/v3/records/1?access_token=eyJ.a.b')).toBe('/api/v3/records/1?access_token=[redacted]');
    expect(redactUrl('/distribution/1/vid-x.mp4?filename=a.mp4&access_token=eyJ.a.b&x=1'))
      .toBe('/distribution/1/vid-x.mp4?filename=a.mp4&access_token=[redacted]&x=1');
    expect(redactUrl('/x?ACCESS_TOKEN=a&access_token=b&user_token=c'))
      .toBe('/x?ACCESS_TOKEN=[redacted]&access_token=[redacted]&user_token=[redacted]');
    expect(redactUrl('/x?my_access_token=keep')).toBe('/x?my_access_token=keep');
  });
});

describe('downloadFilename', () => {
  it('keeps a plain name and adds .mp4 once', () => {
    expect(downloadFilename('Lobby 2025-05-06.mp4', 'x')).toBe('Lobby 2025-05-06.mp4');
    expect(downloadFilename('Lobby', 'x')).toBe('Lobby.mp4');
    expect(downloadFilename('Lobby.MP4', 'x')).toBe('Lobby.mp4');
  });

  it('replaces separators, quotes, control and Windows-reserved characters', () => {
    expect(downloadFilename('../a\\b"c\r\n<d>:e|f?g*h', 'x')).toBe('.._a_b_c_d_e_f_g_h.mp4');
  });

  it('falls back to the given name, then to "video", and caps the length', () => {
    expect(downloadFilename(undefined, 'Room 1 10:18')).toBe('Room 1 10_18.mp4');
    expect(downloadFilename('  ', '')).toBe('video.mp4');
    expect(downloadFilename('.mp4', 'Room')).toBe('Room.mp4');
    expect(downloadFilename('a'.repeat(500), 'x')).toBe(`${'a'.repeat(196)}.mp4`);
  });
});
