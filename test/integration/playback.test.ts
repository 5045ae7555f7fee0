// Public playback (SPEC 6, 6.1): clip and live URLs, their headers, and HLS
// that plays in a real ffmpeg.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';

const run = promisify(execFile);
let h: Harness;
let stream: StreamView;
let clip: { id: string; hls_master: string; renditions: string[]; expiration: number };
let owner: string;

beforeAll(async () => {
  h = await startHarness();
  stream = await h.createStream({ name: 'Playback' });
  const pushed = await h.pushLadder(stream, { from: 0, to: 7, startAt: h.clock.alignToSecond() });
  // A clip keeps the rendition facts known when it is cut: let the probe finish first.
  await waitFor(async () => (await h.api('GET', `/streaming/streams/${stream.id}`)).json()
    .renditions.every((r: { frameRate?: number }) => r.frameRate), 'the probe of every rendition');
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: pushed.start / 1000 + 1, duration: 5 });
  expect(res.statusCode).toBe(200);
  clip = res.json();
  owner = `${h.company.client_id}_${stream.id}`;
});
afterAll(async () => {
  await h?.close();
});

const lines = (text: string) => text.split('\n');
const chunkLines = (text: string) => lines(text).filter((l) => l.endsWith('.ts'));
const media = (rendition: string) => clip.hls_master.replace('master', rendition);
const attrs = (line: string) => Object.fromEntries(
  [...line.matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)].map(([, k, v]) => [k, v.replace(/^"|"$/g, '')]),
);

/** A cache lifetime as long as the clip lives, and not a second longer. */
function expectCachedUntilExpiry(header: string | undefined, suffix: string): void {
  const match = /^public, max-age=(\d+)(.*)$/.exec(header ?? '');
  expect(match, header).not.toBeNull();
  const left = clip.expiration - Math.floor(h.clock.now() / 1000);
  expect(Number(match![1])).toBeGreaterThan(left - 5);
  expect(Number(match![1])).toBeLessThanOrEqual(left);
  expect(match![2]).toBe(suffix);
}

describe('clip playlists', () => {
  it('serve HLS with its content type, cacheable until the clip expires once it is ready', async () => {
    for (const url of [clip.hls_master, media('media_2_480')]) {
      const res = await h.get(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/vnd.apple.mpegurl');
      expectCachedUntilExpiry(res.headers['cache-control'] as string, ', s-maxage=10, immutable');
      expect(res.body.startsWith('#EXTM3U\n')).toBe(true);
    }
  });

  it('master: one variant per rendition with peak and average bandwidth measured on the clip chunks, codecs, resolution, frame rate', async () => {
    const master = lines((await h.get(clip.hls_master)).body);
    expect(master).toContain('#EXT-X-INDEPENDENT-SEGMENTS');
    const variants = master.flatMap((l, i) => (l.startsWith('#EXT-X-STREAM-INF:') ? [[attrs(l.slice(18)), master[i + 1]] as const] : []));
    expect(variants.map(([, uri]) => uri)).toEqual(clip.renditions.map((r) => `rec_${clip.id}_${r}.m3u8`));
    const expected = [
      { RESOLUTION: '426x240', CODECS: 'avc1.42c015,mp4a.40.2' },
      { RESOLUTION: '854x480', CODECS: 'avc1.42c01e,mp4a.40.2' },
      { RESOLUTION: '1280x720', CODECS: 'avc1.42c01f,mp4a.40.2' },
    ];
    for (const [i, [a, uri]] of variants.entries()) {
      expect(a).toMatchObject({ ...expected[i], 'FRAME-RATE': '25.000' });
      // Measure the chunks ourselves.
      const playlist = lines((await h.get(new URL(uri, clip.hls_master).href)).body);
      let [peak, bytes, ms] = [0, 0, 0];
      for (const [j, line] of playlist.entries()) {
        if (!line.startsWith('#EXTINF:')) continue;
        const durationMs = Math.round(Number(line.slice(8, -1)) * 1000);
        const size = (await h.get(new URL(playlist[j + 1], clip.hls_master).href)).rawPayload.length;
        peak = Math.max(peak, Math.ceil((size * 8 * 1000) / durationMs));
        bytes += size;
        ms += durationMs;
      }
      expect(Number(a.BANDWIDTH)).toBe(peak);
      expect(Number(a['AVERAGE-BANDWIDTH'])).toBe(Math.ceil((bytes * 8 * 1000) / ms));
    }
  });

  it('media: VOD with ENDLIST, one target duration for all renditions, covering every EXTINF, with dates', async () => {
    const targets = new Set<string>();
    for (const rendition of clip.renditions) {
      const text = (await h.get(media(rendition))).body;
      const ls = lines(text);
      expect(ls).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
      expect(ls).toContain('#EXT-X-INDEPENDENT-SEGMENTS');
      expect(ls).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:0');
      expect(ls.filter(Boolean).at(-1)).toBe('#EXT-X-ENDLIST');
      const target = ls.find((l) => l.startsWith('#EXT-X-TARGETDURATION:'))!.split(':')[1];
      targets.add(target);
      for (const l of ls.filter((x) => x.startsWith('#EXTINF:'))) {
        expect(Math.round(Number(l.slice(8, -1)))).toBeLessThanOrEqual(Number(target));
      }
      expect(ls[ls.findIndex((l) => l.startsWith('#EXTINF:')) - 1]).toMatch(/^#EXT-X-PROGRAM-DATE-TIME:/);
      expect(chunkLines(text)).toHaveLength(5);
    }
    expect(targets.size).toBe(1);
  });

  it('chunks are MPEG-TS, immutable and cacheable until the clip expires', async () => {
    const uri = chunkLines((await h.get(media('media_1_240'))).body)[0];
    const res = await h.get(new URL(uri, clip.hls_master).href);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp2t');
    expectCachedUntilExpiry(res.headers['cache-control'] as string, ', s-maxage=10, immutable');
    expect(res.rawPayload[0]).toBe(0x47);
  });

  it('plays to the end in ffmpeg with no errors', async () => {
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = h.app.server.address() as { port: number };
    const url = `http://127.0.0.1:${port}${new URL(clip.hls_master).pathname}`;
    const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', url, '-map', '0', '-f', 'null', '-']);
    expect(stderr).toBe('');
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', url.replace('master', 'media_3_720')]);
    expect(Number(probe.stdout)).toBeGreaterThan(4.9);
    expect(Number(probe.stdout)).toBeLessThan(5.2);
  });
});

describe('bad playback URLs', () => {
  it('404 for malformed owners, clip ids, renditions and chunk ids', async () => {
    const id = clip.id;
    const chunk = chunkLines((await h.get(media('media_1_240'))).body)[0];
    expect((await h.get(`/rec/${owner}/${chunk}`)).statusCode).toBe(200);
    const playKey = new URL(stream.hls_url).pathname.split('/')[3];
    expect((await h.get(`/live/${owner}/${playKey}/master.m3u8`)).statusCode).toBe(200);
    const urls = [
      `/rec/abc/rec_${id}_master.m3u8`,
      `/rec/0_${stream.id}/rec_${id}_master.m3u8`,
      `/rec/${stream.id}/rec_${id}_master.m3u8`,
      `/rec/${owner}_1/rec_${id}_master.m3u8`,
      `/rec/..%2F${owner}/rec_${id}_master.m3u8`,
      `/rec/${owner}/rec_${id.slice(1)}_master.m3u8`,
      `/rec/${owner}/rec_${id.toUpperCase()}_master.m3u8`,
      `/rec/${owner}/rec_${'0'.repeat(16)}_master.m3u8`,
      `/rec/${owner}/rec_${id}_media_9_999.m3u8`,
      `/rec/${owner}/rec_${id}_media_1_240.m3u8.bak`,
      `/rec/${owner}/rec_${id}_..%2F..%2Fmaster.m3u8`,
      `/rec/${owner}/rec_${id}_ZZ.ts`,
      `/rec/${owner}/rec_${id}_${'1'.repeat(14)}.ts`,
      `/rec/${owner}/rec_${id}_zzzzzz.ts`,
      `/rec/${owner}/${chunk.replace(id, '1'.repeat(16))}`,
      `/rec/${h.company.client_id}_${stream.id + 1000}/rec_${id}_master.m3u8`,
      // Another client id, for playlists served (and cached) above.
      `/rec/${h.company.client_id + 1}_${stream.id}/rec_${id}_master.m3u8`,
      `/rec/${h.company.client_id + 1}_${stream.id}/rec_${id}_media_2_480.m3u8`,
      `/rec/${h.company.client_id + 1}_${stream.id}/${chunk}`,
      `/live/abc/${playKey}/master.m3u8`,
      `/live/${owner}/${playKey}/media_1_240.m3u8.x`,
      `/live/${owner}/${playKey}/media_9_999.m3u8`,
      `/live/${owner}/${playKey}/${'Z'.repeat(5)}.ts`,
      `/live/${h.company.client_id}_${stream.id + 1000}/${playKey}/master.m3u8`,
      // The play key is the secret of the live URL: a wrong one is a stranger.
      `/live/${owner}/${'A'.repeat(16)}/master.m3u8`,
      `/live/${owner}/master.m3u8`,
    ];
    for (const url of urls) {
      const res = await h.get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/json/);
    }
  });
});

describe('CORS', () => {
  it('lets any web page load playlists and chunks', async () => {
    const uri = chunkLines((await h.get(media('media_1_240'))).body)[0];
    for (const url of [clip.hls_master, media('media_1_240'), new URL(uri, clip.hls_master).href, stream.hls_url]) {
      const res = await h.get(url, { origin: 'https://player.example' });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['access-control-allow-origin'], url).toBe('*');
    }
    const missing = await h.get(`/rec/${owner}/rec_${'0'.repeat(16)}_master.m3u8`, { origin: 'https://player.example' });
    expect(missing.headers['access-control-allow-origin']).toBe('*');
  });

  it('answers a preflight', async () => {
    const res = await h.app.inject({
      method: 'OPTIONS',
      url: new URL(clip.hls_master).pathname,
      headers: { origin: 'https://player.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
    });
    expect(res.statusCode).toBeLessThan(300);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(String(res.headers['access-control-allow-methods'])).toMatch(/GET/);
  });
});

describe('live playlists', () => {
  it('change as the DVR does, so they carry a short cache', async () => {
    for (const url of [stream.hls_url, stream.hls_url.replace('master', 'media_1_240')]) {
      const res = await h.get(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/vnd.apple.mpegurl');
      expect(res.headers['cache-control']).toBe('public, max-age=1');
    }
    const uri = chunkLines((await h.get(stream.hls_url.replace('master', 'media_1_240'))).body)[0];
    const chunk = await h.get(new URL(uri, stream.hls_url).href);
    expect(chunk.headers['content-type']).toBe('video/mp2t');
    expect(chunk.headers['cache-control']).toMatch(/immutable/);
  });
});
