// A live stream played the way viewers play it, with delta updates: ffmpeg
// publishes over RTMP in real time, hls.js in Chromium plays the live window
// from a page of another origin and, told CAN-SKIP-UNTIL, polls the media
// playlist with `_HLS_skip=YES`; what it merges keeps the whole window,
// sliding, and playback goes on with no error.
import type http from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, origin, servePlayerPage } from '../helpers/browser.js';
import { dvrHolding, freePort, sleep, startLiveService, testEncoder, until, type LiveService } from '../helpers/live-service.js';

const WINDOW_S = 30;
let s: LiveService;
let browser: Browser;
let pages: http.Server;
let encoder: ReturnType<typeof testEncoder> | undefined;

beforeAll(async () => {
  s = await startLiveService({ RTMP_PORT: String(await freePort()), GATEWAY_CHUNK_SECONDS: '1' });
  pages = await servePlayerPage();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  encoder?.kill('SIGKILL');
  await browser?.close();
  pages?.close();
  await s?.close();
}, 30_000);

/** What hls.js holds of the (only) level's playlist, and where the video is. */
interface Held { startSN: number; endSN: number; fragments: number; skipped: number; failed: boolean; time: number }

describe('hls.js on a live window with delta updates', () => {
  it('asks for _HLS_skip=YES, merges each delta into the whole window as it slides, and keeps playing', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'delta', dvr_duration: WINDOW_S })).body;
    encoder = testEncoder(['-f', 'flv', stream.push_url], { seconds: 90 });
    // Nearly a full window first, so it slides while hls.js plays.
    const view = await until('the window nearly filled', () => dvrHolding(s, stream.id, WINDOW_S - 6), 60_000);
    const media = new URL(view.renditions[0].name + '.m3u8', view.hls_url).href;
    const full = await (await fetch(media)).text();
    expect(full).toContain('#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6');

    const page = await browser.newPage();
    const deltas: string[] = [];
    const fulls: string[] = [];
    page.on('response', async (res) => {
      const url = new URL(res.url());
      if (!url.pathname.endsWith(view.renditions[0].name + '.m3u8')) return;
      const body = await res.text().catch(() => '');
      (url.searchParams.get('_HLS_skip') === 'YES' ? deltas : fulls).push(body);
    });
    try {
      await page.goto(`${origin(pages)}/?src=${encodeURIComponent(view.hls_url)}&rate=1`);
      const held = () => page.evaluate((): Held | null => {
        const hls = (window as unknown as { hls: any }).hls;
        const details = hls?.levels?.[0]?.details;
        const video = document.getElementById('v') as HTMLVideoElement;
        if (!details) return null;
        return {
          startSN: details.startSN, endSN: details.endSN, fragments: details.fragments.length,
          skipped: details.skippedSegments, failed: Boolean(details.deltaUpdateFailed), time: video.currentTime,
        };
      });
      const first = await until('hls.js playing', async () => {
        const h = await held();
        return h && h.time > 1 ? h : undefined;
      }, 30_000, 200);
      await sleep(15_000);
      const last = (await held())!;
      const events = await page.evaluate(() => (window as unknown as { events: string[] }).events);
      const title = await page.title();

      expect(title).not.toMatch(/^ERROR/);
      // A busy machine may make playback stall for a moment (not a content error).
      expect(events.filter((e) => !/^buffer(Stalled|NudgeOnStall)Error$/.test(e))).toEqual(['levels 1']);
      expect(last.time - first.time).toBeGreaterThan(10);
      // It asked for deltas, got them, and merged them: the whole window, not the delta's few chunks.
      expect(deltas.length).toBeGreaterThanOrEqual(5);
      expect(deltas.every((d) => /^#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+$/m.test(d))).toBe(true);
      expect(fulls.length).toBeLessThan(deltas.length);
      const kept = Math.max(...deltas.map((d) => d.split('\n').filter((l) => l.startsWith('#EXTINF')).length));
      expect(kept).toBeLessThanOrEqual(8);
      expect(last.skipped).toBeGreaterThan(0);
      expect(last.failed).toBe(false);
      expect(last.fragments).toBeGreaterThanOrEqual(WINDOW_S - 3);
      expect(last.fragments).toBe(last.endSN - last.startSN + 1);
      // Sliding: new chunks at the end, old ones gone from the start.
      expect(last.endSN - first.endSN).toBeGreaterThanOrEqual(10);
      expect(last.startSN).toBeGreaterThan(first.startSN);
    } finally {
      await page.close();
    }
  }, 150_000);
});
