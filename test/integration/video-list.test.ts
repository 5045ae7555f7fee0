// GET /streaming/videos as Gcore's API and SDK have it: a plain array, newest
// first, `?stream_id=`, `page` and `per_page`; and videos stored before the
// per-stream index existed are indexed once at worker start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveVideo, type VideoRecord } from '../../src/vod/records.js';
import { indexVideosByStream } from '../../src/vod/stream-index.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

function record(id: number, streamId: number, clientId: number, at: number): VideoRecord {
  return {
    id, client_id: clientId, stream_id: streamId, clip_id: `c${String(id).padStart(15, '0')}`, name: `v${id}`, status: 'ready',
    progress: 100, duration: 4000, created_at: new Date(at).toISOString(), secret: 'A'.repeat(24), videos: [], error: null,
    ready_at: new Date(at).toISOString(),
  };
}

const ids = async (query: string, key = h.company.api_key) => {
  const res = await h.api('GET', `/streaming/videos${query}`, undefined, key);
  expect(res.statusCode, res.body).toBe(200);
  expect(Array.isArray(res.json())).toBe(true);
  return (res.json() as { id: number }[]).map((v) => v.id);
};

describe('GET /streaming/videos', () => {
  it('filters by stream_id and pages newest first', async () => {
    const other = await h.newCompany();
    const t = Date.parse('2026-01-01T00:00:00Z');
    // Stream 7: videos 101..105; stream 8: 201, 202; another company's stream 7: 301.
    for (let i = 1; i <= 5; i++) await saveVideo(h.ctx, record(100 + i, 7, h.company.client_id, t + i * 1000));
    for (let i = 1; i <= 2; i++) await saveVideo(h.ctx, record(200 + i, 8, h.company.client_id, t + 10_000 + i * 1000));
    await saveVideo(h.ctx, record(301, 7, other.client_id, t + 20_000));

    expect(await ids('')).toEqual([202, 201, 105, 104, 103, 102, 101]);
    expect(await ids('?stream_id=7')).toEqual([105, 104, 103, 102, 101]);
    expect(await ids('?stream_id=7&page=1&per_page=2')).toEqual([105, 104]);
    expect(await ids('?page=2&per_page=2&stream_id=7')).toEqual([103, 102]);
    expect(await ids('?stream_id=7&page=3&per_page=2')).toEqual([101]);
    expect(await ids('?stream_id=7&page=4&per_page=2')).toEqual([]);
    expect(await ids('?stream_id=8')).toEqual([202, 201]);
    expect(await ids('?stream_id=9')).toEqual([]);
    expect(await ids('?stream_id=7', other.api_key)).toEqual([301]);

    // Videos stored before the index: one pass at worker start brings them in, once.
    for (const key of await h.keys('company:*:stream:*:videos')) await h.ctx.redis.del(key);
    await h.ctx.redis.del(h.ctx.keys.migrated('stream-videos-index'));
    expect(await ids('?stream_id=7')).toEqual([]);
    expect(await indexVideosByStream(h.ctx)).toBe(8);
    expect(await ids('?stream_id=7')).toEqual([105, 104, 103, 102, 101]);
    expect(await ids('?stream_id=7', other.api_key)).toEqual([301]);
    expect(await indexVideosByStream(h.ctx)).toBe(0);
  });

  it.each(['?stream_id=0', '?stream_id=-1', '?stream_id=x', '?per_page=0', '?per_page=1001', '?page=0', '?status=ready'])(
    '400 for %s, naming it',
    async (query) => {
      const res = await h.api('GET', `/streaming/videos${query}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/querystring/);
    },
  );
});
