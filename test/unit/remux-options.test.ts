// Which renditions get the ADTS-to-MP4 filter: AAC only (it fails the remux of anything else).
import { describe, expect, it } from 'vitest';
import { hasAacAudio } from '../../src/mp4/remux.js';

describe('hasAacAudio', () => {
  it.each([
    ['avc1.64001f,mp4a.40.2', true],
    ['mp4a.40.5', true],
    ['avc1.42c01e, mp4a.40.29', true],
    ['avc1.64001f,mp4a.40.34', false],
    ['avc1.64001f,ac-3', false],
    ['avc1.64001f,ec-3', false],
    ['avc1.64001f', false],
    ['', false],
    [undefined, false],
  ])('%s: %s', (codecs, aac) => {
    expect(hasAacAudio(codecs)).toBe(aac);
  });
});
