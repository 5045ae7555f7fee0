// A clip played the way viewers play it: hls.js in Chromium, and the MP4 in
// a <video> element, from a page of another origin (so CORS is exercised).
import type http from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { launchChromium, origin, servePlayerPage } from '../helpers/browser.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';

let h: Harness;
let browser: Browser;
let pages: http.Server;
let service: string;
let site: string;
let stream: StreamView;


beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  service = origin(h.app.server);
  pages = await servePlayerPage();
  site = origin(pages);
  browser = await launchChromium();
  stream = await h.createStream({ name: 'Browser' });
  await h.pushLadder(stream, { from: 0, to: 11, startAt: h.clock.alignToSecond() - 12_000 });
  await waitFor(async () => (await h.api('GET', `/streaming/streams/${stream.id}`)).json().renditions.every((r: { codecs?: string }) => r.codecs), 'the probe', 20_000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  pages?.close();
  await h?.close();
});

/** Opens the page on a clip URL (of our listening service) and waits for the end. */
async function play(url: string): Promise<{ title: string; events: string[] }> {
  const page = await browser.newPage();
  try {
    const src = `${service}${new URL(url).pathname}`;
    await page.goto(`${site}/?src=${encodeURIComponent(src)}`);
    await page.waitForFunction(() => /^(ENDED|ERROR)/.test(document.title), null, { timeout: 30_000 });
    return { title: await page.title(), events: await page.evaluate(() => (window as unknown as { events: string[] }).events) };
  } finally {
    await page.close();
  }
}

describe('in a browser', () => {
  it('hls.js plays a clip to its end with no error, from another origin', async () => {
    const start = Math.floor(h.clock.now() / 1000) - 10;
    const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start, duration: 6 });
    expect(res.statusCode, res.body).toBe(200);
    const { title, events } = await play(res.json().hls_master);
    expect(title).toMatch(/^ENDED /);
    expect(Number(title.split(' ')[1])).toBeGreaterThanOrEqual(5.9);
    // A busy machine may make playback stall for a moment (not a content
    // error); anything else hls.js reports would be one.
    expect(events.filter((e) => !/^buffer(Stalled|NudgeOnStall)Error$/.test(e))).toEqual(['levels 3']);
  });

  it('the browser plays the clip MP4 to its end', async () => {
    const start = Math.floor(h.clock.now() / 1000) - 10;
    const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start, duration: 4 });
    expect(res.statusCode, res.body).toBe(200);
    const { title } = await play(res.json().mp4_master);
    expect(title).toMatch(/^ENDED /);
    expect(Number(title.split(' ')[1])).toBeGreaterThanOrEqual(3.9);
  });
});
