import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PlaylistCache, preparePlaylist, weightOf } from '../../src/hls/playlist-cache.js';
import { acceptsGzip, matchesEtag } from '../../src/routes/playback.js';

const text = (n: number) => `#EXTM3U\n${Array.from({ length: n }, (_, i) => `#EXTINF:2.000,\nc${i}.ts`).join('\n')}\n`;

describe('built playlists', () => {
  it('keep the text, its gzip (same text once decompressed) and a strong ETag of the text', () => {
    const a = preparePlaylist(text(500), Date.UTC(2026, 0, 1, 10, 0, 0, 700));
    expect(gunzipSync(a.gzip).toString('utf8')).toBe(text(500));
    expect(a.gzip.length).toBeLessThan(a.text.length / 3);
    expect(a.etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(preparePlaylist(text(500), 0).etag).toBe(a.etag);
    expect(preparePlaylist(text(501), 0).etag).not.toBe(a.etag);
    expect(a.lastModified).toBe('Thu, 01 Jan 2026 10:00:00 GMT');
  });

  it('the cache stays within its byte bound, whatever the sizes, least recently used out first', () => {
    const bound = 200_000;
    const cache = new PlaylistCache(bound);
    for (let i = 0; i < 200; i++) {
      cache.set(`k${i}`, preparePlaylist(text(50 + (i % 7) * 300), 0), { expiration: i });
      expect(cache.bytes).toBeLessThanOrEqual(bound);
    }
    expect(cache.get('k199')?.meta.expiration).toBe(199);
    expect(cache.get('k0')).toBeUndefined();
    // One bigger than the bound is not kept at all.
    cache.set('huge', preparePlaylist(text(40_000), 0), {});
    expect(cache.get('huge')).toBeUndefined();
    const one = preparePlaylist(text(10), 0);
    expect(weightOf(one, 'k')).toBeGreaterThan(one.text.length + one.gzip.length);
  });

  it('builds once however many ask at the same time', async () => {
    const cache = new PlaylistCache(1 << 20);
    let builds = 0;
    const build = async () => {
      builds++;
      await new Promise((r) => setTimeout(r, 20));
      return { built: preparePlaylist(text(3), 0), meta: {} };
    };
    const all = await Promise.all(Array.from({ length: 10 }, () => cache.once('k|v1', build)));
    expect(builds).toBe(1);
    expect(new Set(all.map((r) => r!.built.etag)).size).toBe(1);
    await cache.once('k|v1', build);
    expect(builds).toBe(2);
  });
});

describe('conditional and compressed answers', () => {
  it('If-None-Match: a list, weak tags, or *', () => {
    expect(matchesEtag('"a"', '"a"')).toBe(true);
    expect(matchesEtag('"x", W/"a"', '"a"')).toBe(true);
    expect(matchesEtag('*', '"a"')).toBe(true);
    expect(matchesEtag('"b"', '"a"')).toBe(false);
    expect(matchesEtag(undefined, '"a"')).toBe(false);
  });

  it('Accept-Encoding: gzip unless refused with q=0', () => {
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('br;q=1.0, gzip;q=0.8')).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
