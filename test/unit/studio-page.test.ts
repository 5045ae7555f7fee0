// The studio page's own logic, without a browser: what a selection may be,
// nudges by chunk, the request it becomes, the storyboard it reads, and that
// its browser code type-checks against the DOM.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { errorMessage } from '../../src/studio/web/api.js';
import { duration, tickStep, ticks } from '../../src/studio/web/format.js';
import { clipRequest, lastSeconds, nudge, selectionProblem } from '../../src/studio/web/selection.js';
import { parseStoryboard, tileAt } from '../../src/studio/web/vtt.js';

const win = { start: 1_000_000, end: 1_060_000, dvrEnabled: true, dvrDuration: 3600 };

describe('selection', () => {
  it('says what is wrong with a selection, or nothing', () => {
    expect(selectionProblem({ in: null, out: null }, win)).toMatch(/Set In/);
    expect(selectionProblem({ in: 1_010_000, out: null }, win)).toMatch(/Set Out/);
    expect(selectionProblem({ in: 1_020_000, out: 1_010_000 }, win)).toMatch(/Out is before In/);
    expect(selectionProblem({ in: 1_010_000, out: 1_010_000 }, win)).toMatch(/Out is before In/);
    expect(selectionProblem({ in: 1_010_000, out: 1_020_000 }, { ...win, dvrDuration: 5 })).toMatch(/longer than the DVR window \(5 s\)/);
    expect(selectionProblem({ in: 900_000, out: 950_000 }, win)).toMatch(/outside/);
    expect(selectionProblem({ in: 990_000, out: 1_010_000 }, win)).toMatch(/In lies before/);
    expect(selectionProblem({ in: 1_010_000, out: 1_020_000 }, { ...win, dvrEnabled: false })).toMatch(/DVR is disabled/);
    expect(selectionProblem({ in: 1_010_000, out: 1_020_000 }, null)).toMatch(/nothing in its DVR/);
    expect(selectionProblem({ in: 1_010_000, out: 1_020_000 }, win)).toBeNull();
    // Out may reach past the live edge: a clip that records into the future.
    expect(selectionProblem({ in: 1_050_000, out: 1_070_000 }, win)).toBeNull();
  });

  it('nudges to the next or previous chunk boundary, uneven chunks included', () => {
    const b = [1_000_000, 1_002_000, 1_003_300, 1_005_300, 1_006_000];
    expect(nudge(1_003_000, 1, b)).toBe(1_003_300);
    expect(nudge(1_003_300, 1, b)).toBe(1_005_300);
    expect(nudge(1_003_300, -1, b)).toBe(1_002_000);
    expect(nudge(1_006_000, 1, b)).toBe(1_008_000);
    expect(nudge(1_000_000, -1, b)).toBe(998_000);
    expect(nudge(5000, 1, [])).toBe(7000);
  });

  it('turns a selection into whole seconds that cover it', () => {
    expect(clipRequest({ in: 1_000_400, out: 1_010_200 }, 3600, true)).toEqual({ start: 1000, duration: 11, expiration: 1000 + 11 + 3600, vod_required: true });
    expect(lastSeconds({ ...win, end: 1_060_700 }, 30, 600, false)).toEqual({ start: 1030, duration: 30, expiration: 1060 + 600, vod_required: false });
    expect(lastSeconds({ ...win, dvrDuration: 20 }, 30, 600, false).duration).toBe(20);
  });
});

describe('storyboard and times', () => {
  const vtt = ['WEBVTT', '', 'NOTE time 0 is 2026-01-01T00:00:00.000Z (the window\'s first chunk)', '',
    '00:00:00.000 --> 00:00:02.000', 'storyboard_0.jpg?v=a#xywh=0,0,160,90', '',
    '00:00:02.000 --> 00:00:03.300', 'storyboard_0.jpg?v=a#xywh=160,0,160,90', ''].join('\n');

  it('reads cues onto the wall clock and resolves sprite URLs', () => {
    const tiles = parseStoryboard(vtt, 'http://x.test/live/1_2/key/storyboard.vtt');
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    expect(tiles).toEqual([
      { start: t0, end: t0 + 2000, url: 'http://x.test/live/1_2/key/storyboard_0.jpg?v=a', x: 0, y: 0, w: 160, h: 90 },
      { start: t0 + 2000, end: t0 + 3300, url: 'http://x.test/live/1_2/key/storyboard_0.jpg?v=a', x: 160, y: 0, w: 160, h: 90 },
    ]);
    expect(tileAt(tiles, t0 + 2500)?.x).toBe(160);
    expect(tileAt(tiles, t0 - 500)?.x).toBe(0);
    expect(parseStoryboard('WEBVTT\n\n', 'http://x.test/')).toEqual([]);
  });

  it('formats durations and places ticks on round times', () => {
    expect(duration(75)).toBe('1:15');
    expect(duration(3700)).toBe('1:01:40');
    expect(tickStep(60_000, 800)).toBe(10_000);
    expect(tickStep(3_600_000, 390)).toBe(900_000);
    expect(ticks(1_000_500, 1_031_000, 10_000)).toEqual([1_010_000, 1_020_000, 1_030_000]);
  });

  it('shows API errors in their own words, in either envelope', () => {
    expect(errorMessage(422, { statusCode: 422, error: 'Unprocessable Entity', message: 'DVR is disabled for this stream' })).toBe('DVR is disabled for this stream');
    expect(errorMessage(401, { error: { code: 401, message: 'Bad credentials.' } })).toBe('Bad credentials.');
    expect(errorMessage(502, null)).toBe('The API answered 502');
  });
});

describe('browser code', () => {
  it('type-checks against the DOM', async () => {
    const run = promisify(execFile);
    await expect(run('node_modules/.bin/tsc', ['-p', 'src/studio/web/tsconfig.json'], { timeout: 60_000 })).resolves.toBeDefined();
  }, 60_000);
});
