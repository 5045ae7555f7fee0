import { describe, expect, it } from 'vitest';
import { sheetIds, storyboardVtt, tileRect } from '../../src/thumbs/layout.js';
import { tileSource } from '../../src/thumbs/tiles.js';

describe('storyboard layout', () => {
  it('places tiles ten to a row, a hundred to a sheet, and never moves a place', () => {
    expect(tileRect(0)).toEqual({ x: 0, y: 0, w: 160, h: 90 });
    expect(tileRect(13)).toEqual({ x: 480, y: 90, w: 160, h: 90 });
    expect(tileRect(113)).toEqual(tileRect(13));
  });

  it('writes WebVTT cues with #xywh on the sheet of each place', () => {
    const vtt = storyboardVtt(
      [{ start: 0, end: 2, place: 0 }, { start: 3661.5, end: 3662.25, place: 101 }],
      (sheet) => `s_${sheet}.jpg`, 'time 0 is x',
    );
    expect(vtt).toBe([
      'WEBVTT', '', 'NOTE time 0 is x', '',
      '00:00:00.000 --> 00:00:02.000', 's_0.jpg#xywh=0,0,160,90', '',
      '01:01:01.500 --> 01:01:02.250', 's_1.jpg#xywh=160,0,160,90', '',
    ].join('\n'));
  });

  it('groups tile ids by sheet in place order', () => {
    expect([...sheetIds([{ place: 101, id: 'b' }, { place: 3, id: 'a' }, { place: 100, id: 'c' }])])
      .toEqual([[0, ['3:a']], [1, ['0:c', '1:b']]]);
  });

  it('takes tiles from the smallest rendition at least 180 high, else the tallest', () => {
    const r = (playlist: string, height?: number) => ({ playlist, height });
    expect(tileSource([r('a', 720), r('b', 240), r('c', 480)])?.playlist).toBe('b');
    expect(tileSource([r('a', 144), r('b', 120)])?.playlist).toBe('a');
    expect(tileSource([r('a'), r('b', 360)])?.playlist).toBe('b');
    expect(tileSource([r('a')])?.playlist).toBe('a');
    expect(tileSource([])).toBeUndefined();
  });
});
