import { describe, expect, it } from 'vitest';
import { codecsList, rfc6381 } from '../../src/dvr/codecs.js';

describe('rfc6381', () => {
  it('names H.264 as ffmpeg/x264 write it: profile, constraint flags, level in hex', () => {
    expect(rfc6381({ codec_name: 'h264', profile: 'Constrained Baseline', level: 30 })).toBe('avc1.42c01e');
    expect(rfc6381({ codec_name: 'h264', profile: 'Baseline', level: 21 })).toBe('avc1.420015');
    expect(rfc6381({ codec_name: 'h264', profile: 'Main', level: 31 })).toBe('avc1.4d401f');
    expect(rfc6381({ codec_name: 'h264', profile: 'High', level: 40 })).toBe('avc1.640028');
    expect(rfc6381({ codec_name: 'h264', profile: 'High 10', level: 51 })).toBe('avc1.6e0033');
  });

  it('falls back to High and level 4.0 when ffprobe does not know', () => {
    expect(rfc6381({ codec_name: 'h264', level: -99 })).toBe('avc1.640028');
  });

  it('names HEVC by profile and level', () => {
    expect(rfc6381({ codec_name: 'hevc', profile: 'Main', level: 93 })).toBe('hvc1.1.6.L93.B0');
    expect(rfc6381({ codec_name: 'hevc', profile: 'Main 10', level: 120 })).toBe('hvc1.2.4.L120.B0');
  });

  it('names AAC by its audio object type', () => {
    expect(rfc6381({ codec_name: 'aac', profile: 'LC' })).toBe('mp4a.40.2');
    expect(rfc6381({ codec_name: 'aac', profile: 'HE-AAC' })).toBe('mp4a.40.5');
    expect(rfc6381({ codec_name: 'aac', profile: 'HE-AACv2' })).toBe('mp4a.40.29');
    expect(rfc6381({ codec_name: 'aac' })).toBe('mp4a.40.2');
  });

  it('names the other audio codecs HLS allows', () => {
    expect(rfc6381({ codec_name: 'mp3' })).toBe('mp4a.40.34');
    expect(rfc6381({ codec_name: 'ac3' })).toBe('ac-3');
    expect(rfc6381({ codec_name: 'eac3' })).toBe('ec-3');
  });

  it('returns undefined for codecs it cannot name', () => {
    expect(rfc6381({ codec_name: 'mpeg2video' })).toBeUndefined();
    expect(rfc6381({})).toBeUndefined();
  });
});

describe('codecsList', () => {
  it('lists video before audio and skips unnamed and repeated codecs', () => {
    expect(codecsList([
      { codec_type: 'audio', codec_name: 'aac', profile: 'LC' },
      { codec_type: 'video', codec_name: 'h264', profile: 'High', level: 31 },
      { codec_type: 'audio', codec_name: 'aac', profile: 'LC' },
      { codec_type: 'data', codec_name: 'timed_id3' },
    ])).toBe('avc1.64001f,mp4a.40.2');
  });
});
