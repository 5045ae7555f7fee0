// The clip studio in Debian's Chromium against a real service fed live by a
// real ffmpeg encoder: sign in, watch, mark In/Out with the keyboard, clip,
// see it go from recording to ready, play it to the end, copy its links,
// download its MP4, delete it; on a desktop screen and on a 390x844 phone.
// Screenshots of each step go to .tmp/screenshots (not committed).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { demoEncoderArgs } from '../../src/demo/encoder.js';
import { deletePrefixAt } from '../../src/redis/prefix.js';
import { startService, type Service } from '../../src/service.js';
import { createApiKey, createCompany, hashApiKey } from '../../src/tenancy/companies.js';
import { launchChromium } from '../helpers/browser.js';
import { fixtureChunkBytes, ladder, livePlaylist } from '../helpers/harness.js';
import { freePort, until } from '../helpers/live-service.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SHOTS = path.resolve('.tmp/screenshots');
const prefix = `studio${Date.now().toString(36)}`;

let service: Service;
let base: string;
let apiKey: string;
let streamId: number;
let encoder: ChildProcess;
let browser: Browser;

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `apikey ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  service = await startService(loadConfig({
    ...process.env, REDIS_URL: redisUrl, KEY_PREFIX: prefix, PORT: String(port), PUBLIC_BASE_URL: base,
    DATA_DIR: await mkdtemp(path.join(os.tmpdir(), 'dvr-studio-')), LOG_LEVEL: 'warn', FINALIZE_GRACE_SECONDS: '5',
    RTMP_PORT: '0', SRT_PORT: '0',
  }));
  await service.app!.listen({ port, host: '127.0.0.1' });
  apiKey = (await createCompany(service.ctx, 'Studio')).api_key;
  const created = await api('POST', '/streaming/streams', { name: 'Main stage', dvr_duration: 600 });
  expect(created.status).toBe(201);
  streamId = created.body.id;
  encoder = spawn('ffmpeg', demoEncoderArgs(created.body.push_url_hls, { hlsTime: 2, durationSec: 400, overlay: false }), { stdio: 'ignore' });
  await until('20 s of DVR and a screenshot', async () => {
    const { body } = await api('GET', `/streaming/streams/${streamId}`);
    return body.dvr_range && body.dvr_range.end - body.dvr_range.start >= 20 && body.screenshot ? body : undefined;
  }, 60_000);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  encoder?.kill('SIGKILL');
  await service?.close();
  await deletePrefixAt(redisUrl, prefix);
});

async function flow(name: string, viewport: { width: number; height: number }): Promise<void> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let step = 0;
  const shot = (what: string) => page.screenshot({ path: path.join(SHOTS, `${name}-${String(++step).padStart(2, '0')}-${what}.png`) });
  try {
    await page.goto(`${base}/`);
    await page.locator('#api-key').waitFor();
    await shot('sign-in');

    // A wrong key: the page says so and asks again.
    await page.fill('#api-key', 'not-a-key');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('#notice')).toMatch(/refused/);
    expect(await page.isVisible('#api-key')).toBe(true);
    await shot('wrong-key');

    await page.fill('#api-key', apiKey);
    await page.keyboard.press('Enter');
    await page.locator('#main').waitFor();
    await expect.poll(() => page.textContent('#stream-state')).toBe('Live');
    expect(await page.evaluate(() => sessionStorage.getItem('studio.apiKey'))).toBe(apiKey);
    expect(page.url()).not.toContain(apiKey);
    // The player runs and knows the wall clock of what it plays.
    await page.waitForFunction(() => (document.getElementById('live-video') as HTMLVideoElement).currentTime > 0, null, { timeout: 30_000 });
    await page.locator('[data-part=playhead]').waitFor({ timeout: 20_000 });
    await shot('live');

    await page.waitForFunction(() => Number((document.querySelector('[data-part=strip]') as HTMLElement).dataset.drawn ?? 0) > 3, null, { timeout: 120_000 });
    expect(await page.locator('.tick').count()).toBeGreaterThan(1);
    await shot('timeline');

    // Keyboard only: back three chunks, In; back one more, Out (before In: refused); then Out ahead.
    await page.focus('#scrubber');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('i');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('o');
    await expect.poll(() => page.textContent('#sel-info')).toMatch(/Out is before In/);
    await shot('out-before-in');
    await page.keyboard.press('End');
    await page.keyboard.press('o');
    // Out a few chunks past the live edge: the clip reaches into the future and records.
    // On a loaded machine the encoder's clock (the DVR's) lags the wall clock:
    // press + until Out lies well past now by the wall clock too.
    await page.focus('#out-fwd');
    const outAt = async () => {
      const [hh, mm, ss] = ((await page.textContent('#out-time')) ?? '').split(':').map(Number);
      const d = new Date();
      d.setHours(hh, mm, ss, 0);
      return d.getTime();
    };
    for (let i = 0; i < 60 && (await outAt()) < Date.now() + 12_000; i++) await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('#sel-info')).toMatch(/^Selection: /);
    expect(await page.textContent('#in-time')).toMatch(/^\d\d:\d\d:\d\d$/);
    await shot('marked');

    const before = (await api('GET', `/streaming/streams/${streamId}/clip_recording`)).body.length;
    await page.focus('#make-clip');
    await page.keyboard.press('Enter');
    const clip = await until('the clip', async () => {
      const list = (await api('GET', `/streaming/streams/${streamId}/clip_recording`)).body;
      return list.length > before ? list[0] : undefined;
    }, 10_000);
    const item = page.locator(`li[data-clip-id="${clip.id}"]`);
    await item.waitFor();
    expect(clip.status).toBe('recording');
    expect(await item.getAttribute('data-status')).toBe('recording');
    await shot('recording');
    await page.locator(`li[data-clip-id="${clip.id}"][data-status="ready"]`).waitFor({ timeout: 60_000 });
    await page.waitForFunction((id) => {
      const img = document.querySelector(`li[data-clip-id="${id}"] img`) as HTMLImageElement | null;
      return img !== null && img.complete && img.naturalWidth > 0;
    }, clip.id, { timeout: 15_000 });
    await shot('ready');

    // Play it to the end in the page.
    await item.getByRole('button', { name: /^Play/ }).click();
    await page.waitForFunction(() => (document.getElementById('clip-video') as HTMLVideoElement).currentTime > 0, null, { timeout: 20_000 });
    await page.evaluate(() => ((document.getElementById('clip-video') as HTMLVideoElement).playbackRate = 4));
    await shot('playing');
    await page.locator(`#clip-player-state[data-ended="${clip.id}"]`).waitFor({ timeout: 60_000 });
    await shot('played');

    await item.getByRole('button', { name: 'Copy the HLS link' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(clip.hls_master);
    await item.getByRole('button', { name: 'Copy the MP4 link' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(clip.mp4_master);
    await shot('copied');

    const [download] = await Promise.all([page.waitForEvent('download'), item.locator('[data-action=download]').click()]);
    const saved = readFileSync(await download.path());
    const direct = Buffer.from(await (await fetch(clip.mp4_master)).arrayBuffer());
    expect(saved.length).toBeGreaterThan(10_000);
    expect(saved.equals(direct)).toBe(true);
    expect(download.suggestedFilename()).toBe(`clip-${clip.id}.mp4`);

    await item.getByRole('button', { name: /^Delete/ }).click();
    await item.waitFor({ state: 'detached' });
    expect((await api('GET', `/streaming/streams/${streamId}/clip_recording/${clip.id}`)).status).toBe(404);
    await shot('deleted');

    // One click: the last 30 s, ready at once.
    await page.click('#last-30');
    const last = await until('the last 30 s', async () => {
      const list = (await api('GET', `/streaming/streams/${streamId}/clip_recording`)).body;
      return list.find((c: { duration: number; id: string }) => c.duration === 30 && c.id !== clip.id);
    }, 10_000);
    await page.locator(`li[data-clip-id="${last.id}"]`).waitFor();
    await shot('last-30');
    await api('DELETE', `/streaming/streams/${streamId}/clip_recording/${last.id}`);
    await page.locator(`li[data-clip-id="${last.id}"]`).waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
}

/** A stream fed a few fixture chunks, then nothing: it goes offline with a DVR. */
async function shortLivedStream(): Promise<{ id: number; name: string }> {
  const created = await api('POST', '/streaming/streams', { name: 'Side stage' });
  const push = (file: string, body: Buffer | string) => fetch(`${created.body.push_url_hls}${file}`, { method: 'PUT', body: typeof body === 'string' ? body : new Uint8Array(body) });
  for (let i = 0; i < 4; i++) {
    for (const v of [0, 1, 2]) {
      await push(ladder()[v][i].file, fixtureChunkBytes(v, i));
      await push(`stream_${v}.m3u8`, livePlaylist(v, i));
    }
  }
  return created.body;
}

async function badInput(): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  let step = 0;
  const shot = (what: string) => page.screenshot({ path: path.join(SHOTS, `bad-${String(++step).padStart(2, '0')}-${what}.png`) });
  // A key of its own, so revoking it leaves the other tests alone.
  const key = await createApiKey(service.ctx, (await api('GET', `/streaming/streams/${streamId}`)).body.client_id);
  try {
    const noDvr = (await api('POST', '/streaming/streams', { name: 'No DVR', dvr_enabled: false })).body;
    const side = await shortLivedStream();
    await page.goto(`${base}/studio`);
    await page.fill('#api-key', key);
    await page.keyboard.press('Enter');
    await page.locator('#main').waitFor();

    // Preview plays In to Out and stops there (on the first stream, live).
    await page.locator('[data-part=playhead]').waitFor({ timeout: 30_000 });
    await page.focus('#scrubber');
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('i');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('o');
    await page.click('#preview');
    await expect.poll(() => page.textContent('#notice'), { timeout: 30_000 }).toMatch(/Preview reached Out/);
    expect(await page.evaluate(() => (document.getElementById('live-video') as HTMLVideoElement).paused)).toBe(true);
    await shot('preview');

    await page.selectOption('#stream-select', String(noDvr.id));
    await expect.poll(() => page.textContent('#range')).toMatch(/DVR is disabled/);
    expect(await page.isDisabled('#make-clip')).toBe(true);
    expect(await page.isDisabled('#last-30')).toBe(true);
    await shot('dvr-disabled');

    // A stream that stopped: offline, and what its DVR holds can still be clipped.
    await page.selectOption('#stream-select', String(side.id));
    await expect.poll(() => page.textContent('#stream-state'), { timeout: 20_000 }).toBe('Offline');
    await page.click('#last-30');
    await page.locator('#clip-list li').first().waitFor({ timeout: 15_000 });
    await shot('offline');

    // The key is revoked while the page is open: it says so and asks again.
    await service.ctx.redis.hdel(service.ctx.keys.apiKeys, hashApiKey(key));
    await page.locator('#sign-in').waitFor({ timeout: 15_000 });
    expect(await page.textContent('#notice')).toMatch(/refused: it is wrong or has been revoked/);
    expect(await page.evaluate(() => sessionStorage.getItem('studio.apiKey'))).toBeNull();
    await shot('revoked');
  } finally {
    await context.close();
  }
}

describe('the clip studio in Chromium', () => {
  it('preview, and bad input: DVR disabled, a stream gone offline, a key revoked while the page is open', () => badInput(), 120_000);
  it('desktop: sign in, mark, clip, watch it become ready, play, copy, download, delete', () => flow('desktop', { width: 1280, height: 800 }), 240_000);
  it('phone 390x844: the same', () => flow('phone', { width: 390, height: 844 }), 240_000);
});

export type { Page };
