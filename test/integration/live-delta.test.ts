// Delta updates of the live media playlist (RFC 8216bis 6.2.5.1): a long
// window offers them (EXT-X-SERVER-CONTROL CAN-SKIP-UNTIL), `_HLS_skip=YES`
// gets the full playlist's tail behind one EXT-X-SKIP, built and cached as
// the full one is; real chunks made by ffmpeg, pushed as ffmpeg pushes them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { fmp4Runs, pushFmp4 } from '../helpers/fmp4.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushInOrder, unevenLadder } from '../helpers/uneven.js';

const run = promisify(execFile);
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ port: 0, host: '127.0.0.1' }); // for ffmpeg
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const lines = (text: string) => text.split('\n');
const uris = (text: string) => lines(text).filter((l) => l && !l.startsWith('#'));
const tagValue = (text: string, tag: string) => lines(text).find((l) => l.startsWith(`${tag}:`))?.slice(tag.length + 1);
const count = (text: string, line: string) => lines(text).filter((l) => l === line).length;
const mediaUrl = (stream: StreamView, rendition = 'media_1_240') => stream.hls_url.replace('master', rendition);
const full = async (stream: StreamView, rendition?: string) => (await h.get(mediaUrl(stream, rendition))).body;
/** The name of the stream's first rendition once the probe has named it by its height. */
const probedName = (stream: StreamView) => waitFor(async () => {
  const [first] = ((await h.api('GET', `/streaming/streams/${stream.id}`)).json() as StreamView).renditions;
  return first?.height ? first.name : undefined;
}, 'the probe', 30_000);
const delta = async (stream: StreamView, rendition?: string, skip = 'YES') => (await h.get(`${mediaUrl(stream, rendition)}?_HLS_skip=${skip}`)).body;

/**
 * Checks what RFC 8216bis asks of a delta against the full playlist of the
 * same moment: the same header but for EXT-X-VERSION 9, one EXT-X-SKIP whose
 * count is the chunks it leaves out, then the full text's tail line for line
 * (fMP4: after the EXT-X-MAP its first chunk plays with). Returns the count.
 */
function expectDeltaOf(fullText: string, deltaText: string, map?: string): number {
  const skipped = Number(tagValue(deltaText, '#EXT-X-SKIP')?.replace('SKIPPED-SEGMENTS=', ''));
  expect(skipped).toBeGreaterThan(0);
  expect(count(deltaText, `#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`)).toBe(1);
  expect(uris(deltaText)).toEqual(uris(fullText).slice(skipped));
  const [fl, dl] = [lines(fullText), lines(deltaText)];
  const header = fl.slice(0, fl.findIndex((l) => l.startsWith('#EXTINF') || l.startsWith('#EXT-X-PROGRAM-DATE-TIME')));
  expect(header[1]).toMatch(/^#EXT-X-VERSION:[37]$/);
  const skipAt = dl.indexOf(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
  expect(dl.slice(0, skipAt)).toEqual(['#EXTM3U', '#EXT-X-VERSION:9', ...header.slice(2)]);
  let rest = dl.slice(skipAt + 1);
  if (map) {
    expect(rest[0]).toBe(`#EXT-X-MAP:URI="${map}"`);
    rest = rest.slice(1);
  }
  expect(fullText.endsWith(rest.join('\n'))).toBe(true);
  // The tail starts at a chunk's first line: the line before it in the full text is the previous chunk's URI.
  expect(fl[fl.length - rest.length - 1]).toBe(uris(fullText)[skipped - 1]);
  return skipped;
}

describe('a long window', () => {
  let stream: StreamView;

  beforeAll(async () => {
    stream = await h.createStream({ name: 'Long window' }); // an hour
  });

  it('offers delta updates only once something lies past the boundary; until then _HLS_skip gets the full playlist, which offers none', async () => {
    await h.pushLadder(stream, { from: 0, to: 4, startAt: h.clock.alignToSecond() });
    const early = await full(stream);
    // 1 s chunks: target duration 1, boundary six of them. A playlist that
    // offers delta updates must answer _HLS_skip with one (RFC 8216bis
    // 6.2.5.1), so it offers them only once a delta skips something.
    expect(tagValue(early, '#EXT-X-SERVER-CONTROL')).toBeUndefined();
    expect(early).toContain('#EXT-X-VERSION:3');
    expect(uris(early)).toHaveLength(5);
    expect(await delta(stream)).toBe(early);
    await h.pushLadder(stream, { from: 5, to: 7 });
    expect(tagValue(await full(stream), '#EXT-X-SERVER-CONTROL')).toBe('CAN-SKIP-UNTIL=6');
    expect(await delta(stream)).toContain('#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n');
  });

  it('serves the full playlist\'s tail behind EXT-X-SKIP, with the headers of the full one, gzip and 304 included', async () => {
    await h.pushLadder(stream, { from: 8, to: 10 });
    const fullRes = await h.get(mediaUrl(stream), { origin: 'https://player.example' });
    const res = await h.get(`${mediaUrl(stream)}?_HLS_skip=YES`, { origin: 'https://player.example' });
    expect(res.statusCode).toBe(200);
    // Eleven chunks: the first four end more than 6 s before the end.
    expect(expectDeltaOf(fullRes.body, res.body)).toBe(4);
    expect(tagValue(res.body, '#EXT-X-MEDIA-SEQUENCE')).toBe(tagValue(fullRes.body, '#EXT-X-MEDIA-SEQUENCE'));
    expect(tagValue(res.body, '#EXT-X-PROGRAM-DATE-TIME')).toBeUndefined();
    for (const name of ['content-type', 'cache-control', 'access-control-allow-origin', 'vary']) {
      expect(res.headers[name], name).toBe(fullRes.headers[name]);
    }
    expect(res.headers.etag).toMatch(/^"/);
    expect(res.headers.etag).not.toBe(fullRes.headers.etag);
    const zipped = await h.get(`${mediaUrl(stream)}?_HLS_skip=YES`, { 'accept-encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.rawPayload).toString('utf8')).toBe(res.body);
    const again = await h.get(`${mediaUrl(stream)}?_HLS_skip=YES`, { 'if-none-match': res.headers.etag as string });
    expect(again.statusCode).toBe(304);
    // v2 also skips date ranges: there are none, so it is answered as YES.
    expect(await delta(stream, undefined, 'v2')).toBe(res.body);
    // Each rendition its own.
    expectDeltaOf(await full(stream, 'media_3_720'), await delta(stream, 'media_3_720'));
    for (const uri of uris(res.body)) expect((await h.get(new URL(uri, mediaUrl(stream)).href)).statusCode).toBe(200);
  });

  it('changes when a chunk arrives, and merged into the copy a player had gives the full playlist', async () => {
    const before = await full(stream);
    const oldDelta = await h.get(`${mediaUrl(stream)}?_HLS_skip=YES`);
    await h.pushLadder(stream, { from: 11, to: 11 });
    const after = await full(stream);
    const res = await h.get(`${mediaUrl(stream)}?_HLS_skip=YES`);
    expect(res.headers.etag).not.toBe(oldDelta.headers.etag);
    const skipped = expectDeltaOf(after, res.body);
    expect(skipped).toBe(5);
    expect(uris(res.body).at(-1)).toBe(uris(after).at(-1));
    expect(uris(before)).not.toContain(uris(after).at(-1));
    // What a player does (6.3.7): the skipped part from its copy, the rest from the delta.
    const msn = Number(tagValue(res.body, '#EXT-X-MEDIA-SEQUENCE'));
    const copyFrom = msn - Number(tagValue(before, '#EXT-X-MEDIA-SEQUENCE'));
    expect([...uris(before).slice(copyFrom, copyFrom + skipped), ...uris(res.body)]).toEqual(uris(after));
  });

  it('ignores an _HLS_skip value RFC 8216bis does not define, and the master has no delta', async () => {
    const text = await full(stream);
    for (const query of ['_HLS_skip=NO', '_HLS_skip=yes', '_HLS_skip=', '_HLS_skip=YES&_HLS_skip=YES', '_HLS_skip', '_hls_skip=YES']) {
      const res = await h.get(`${mediaUrl(stream)}?${query}`);
      expect(res.statusCode, query).toBe(200);
      expect(res.body, query).toBe(text);
    }
    const master = (await h.get(stream.hls_url)).body;
    expect((await h.get(`${stream.hls_url}?_HLS_skip=YES`)).body).toBe(master);
    expect(master).not.toContain('SKIP');
  });

  it('plays in ffmpeg 5.1, which knows nothing of delta updates, with the tag in it', async () => {
    const { port } = h.app.server.address() as { port: number };
    const url = `http://127.0.0.1:${port}${new URL(mediaUrl(stream, 'media_3_720')).pathname}`;
    expect(await full(stream, 'media_3_720')).toContain('#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6');
    const version = await run('ffmpeg', ['-version']);
    expect(version.stdout).toMatch(/^ffmpeg version 5\.1/);
    // A live playlist never ends for ffmpeg: from its first chunk, 10 of its 12 s.
    const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-live_start_index', '0', '-i', url,
      '-map', '0', '-t', '10', '-f', 'null', '-'], { timeout: 60_000 });
    expect(stderr).toBe('');
    const probe = await run('ffprobe', ['-v', 'error', '-live_start_index', '0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', url],
      { timeout: 60_000 });
    expect(new Set(probe.stdout.split('\n').filter(Boolean))).toEqual(new Set(['aac', 'h264']));
  }, 90_000);
});

describe('discontinuities', () => {
  it('one in the kept part stays, dated; one in the skipped part leaves the header as the full one has it, also once the window slid past it', async () => {
    const stream = await h.createStream({ name: 'Restarts', dvr_duration: 30 });
    await h.pushLadder(stream, { from: 0, to: 11, startAt: h.clock.alignToSecond() });
    const run2 = await h.pushLadder(stream, { from: 0, to: 3 }); // an encoder restart: media sequence back to 0
    let [f, d] = [await full(stream), await delta(stream)];
    expect(expectDeltaOf(f, d)).toBe(9);
    expect(count(d, '#EXT-X-DISCONTINUITY')).toBe(1);
    const ls = lines(d);
    expect(ls[ls.indexOf('#EXT-X-DISCONTINUITY') + 1]).toBe(`#EXT-X-PROGRAM-DATE-TIME:${new Date(run2.start).toISOString()}`);
    expect(uris(lines(d).slice(ls.indexOf('#EXT-X-DISCONTINUITY')).join('\n'))).toHaveLength(4);
    expect(tagValue(d, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('0');

    await h.pushLadder(stream, { from: 4, to: 11 });
    [f, d] = [await full(stream), await delta(stream)];
    expect(expectDeltaOf(f, d)).toBe(17);
    expect(count(d, '#EXT-X-DISCONTINUITY')).toBe(0);
    // The player counts the discontinuity of the skipped part in its own copy, as the full text has it.
    expect(tagValue(d, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('0');
    expect(count(f, '#EXT-X-DISCONTINUITY')).toBe(1);
    expect(lines(f).indexOf('#EXT-X-DISCONTINUITY')).toBeLessThan(lines(f).indexOf(uris(f)[17]));

    // The window (30 s) slides past the first run: the full playlist counts its discontinuity, the delta the same.
    h.clock.set(run2.start + 30_000 - 500);
    [f, d] = [await full(stream), await delta(stream)];
    expect(uris(f)).toHaveLength(12);
    expect(tagValue(f, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('1');
    expect(expectDeltaOf(f, d)).toBe(5);
    expect(tagValue(d, '#EXT-X-DISCONTINUITY-SEQUENCE')).toBe('1');
    expect(tagValue(d, '#EXT-X-MEDIA-SEQUENCE')).toBe(tagValue(f, '#EXT-X-MEDIA-SEQUENCE'));
  });
});

describe('fMP4', () => {
  it('the delta names the init segment its first chunk plays with, which the full playlist named in the skipped part', async () => {
    const { a } = await fmp4Runs();
    const stream = await h.createStream({ name: 'fMP4 delta' });
    h.clock.alignToSecond();
    // Two runs of 12 s (chunks up to 2.68 s: target duration 3, boundary 18 s), the same init.
    await pushFmp4(h, stream, a, 0, 5);
    await pushFmp4(h, stream, a, 0, 5, { uploadInit: false });
    const rendition = await probedName(stream);
    const [f, d] = [await full(stream, rendition), await delta(stream, rendition)];
    expect(tagValue(f, '#EXT-X-SERVER-CONTROL')).toBe('CAN-SKIP-UNTIL=18');
    expect(f).toContain('#EXT-X-VERSION:7');
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(f)![1];
    expect(count(f, `#EXT-X-MAP:URI="${map}"`)).toBe(1);
    // 24 s: the chunks ending 2, 3.52 and 5.8 s in lie further than 18 s from the end.
    expect(expectDeltaOf(f, d, map)).toBe(3);
    const init = await h.get(new URL(map, mediaUrl(stream, rendition)).href);
    expect(init.statusCode).toBe(200);
    expect(init.headers['content-type']).toBe('video/mp4');
  }, 90_000);
});

describe('a short window', () => {
  it('offers no delta updates, and answers _HLS_skip with the full playlist', async () => {
    const L = await unevenLadder();
    // Chunks up to 2.6 s: target duration 3, boundary 18 s; the window (30 s) is less than twice that.
    const stream = await h.createStream({ name: 'Short window', dvr_duration: 30 });
    h.clock.alignToSecond();
    await pushInOrder(h, stream, L, 0, 8);
    const rendition = await probedName(stream);
    const text = await full(stream, rendition);
    expect(tagValue(text, '#EXT-X-TARGETDURATION')).toBe('3');
    expect(uris(text)).toHaveLength(9);
    expect(text).not.toContain('SERVER-CONTROL');
    const res = await h.get(`${mediaUrl(stream, rendition)}?_HLS_skip=YES`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(text);
  }, 120_000);
});
