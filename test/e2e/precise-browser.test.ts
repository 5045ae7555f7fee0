// A precise clip played the way viewers play it: hls.js in Chromium plays it
// to the end with no error, and the span it shows lasts cut_end - cut_start
// within one frame (SPEC 14).
import type http from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { launchChromium, origin, servePlayerPage } from '../helpers/browser.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { FRAME_MS, pushGop2 } from '../helpers/gop2.js';

let h: Harness;
let browser: Browser;
let pages: http.Server;

beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  pages = await servePlayerPage();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  pages?.close();
  await h?.close();
});

it('hls.js plays a precise clip to its end, and it lasts cut_end - cut_start', async () => {
  const stream = (await h.api('POST', '/streaming/streams', { name: 'precise browser' })).json() as StreamView;
  const s = Math.ceil(h.clock.now() / 1000) * 1000 + 3000;
  await pushGop2(h, stream, s - 2000 - 700); // the clip starts 700 ms into chunk 1
  await waitFor(async () => (await h.api('GET', `/streaming/streams/${stream.id}`)).json().renditions.every((r: { codecs?: string }) => r.codecs), 'the probe', 30_000);
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: s / 1000, duration: 5, precise: true });
  expect(res.statusCode, res.body).toBe(200);
  const id = res.json().id as string;
  const clip = await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}/clip_recording/${id}`)).json();
    return view.accuracy === 'frame' ? view : undefined;
  }, 'the precise build', 120_000, 200);
  const page = await browser.newPage();
  try {
    await page.goto(`${origin(pages)}/?src=${encodeURIComponent(`${origin(h.app.server)}${new URL(clip.hls_master).pathname}`)}`);
    await page.waitForFunction(() => /^(ENDED|ERROR)/.test(document.title), null, { timeout: 60_000 });
    const title = await page.title();
    const events = await page.evaluate(() => (window as unknown as { events: string[] }).events);
    expect(title).toMatch(/^ENDED /);
    const [, endedAt, bufferedFrom] = title.split(' ').map(Number);
    // The span shown: from the first buffered media (hls.js's timeline opens at
    // the first decode time, two B-frames before the first picture) to the end.
    const played = endedAt - bufferedFrom;
    const expected = clip.cut_end - clip.cut_start;
    expect(Math.abs(played * 1000 - expected), `played ${endedAt} - ${bufferedFrom} s, cut ${expected} ms`).toBeLessThanOrEqual(FRAME_MS);
    // Stalls on a busy machine are no content error. bufferSeekOverHole is
    // non-fatal: hls.js skips from its timeline's start (the first decode
    // time) to the first picture; anything else would be an error.
    expect(events.filter((e) => !/^(buffer(Stalled|NudgeOnStall)Error|bufferSeekOverHole)$/.test(e))).toEqual(['levels 3']);
  } finally {
    await page.close();
  }
}, 300_000);
