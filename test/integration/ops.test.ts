// Operations (SPEC 8): health, readiness, metrics and the OpenAPI document.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { fixtureChunkBytes, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** The value of one sample in Prometheus text, 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('health and readiness', () => {
  it('/healthz answers while the process is alive', async () => {
    const res = await h.get('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 200 with Redis reachable and the workers running', async () => {
    const res = await h.get('/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', redis: true, workers: true });
  });

  it('/readyz is 503 when the workers are not running, or Redis does not answer', async () => {
    const ctx = { ...h.ctx };
    let workers = false;
    const app = await buildApp({ ctx, queues: h.service.queues, readiness: { workersRunning: () => workers } });
    // A connection to a port nobody listens on: it waits for a reconnect that never comes.
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: () => 200 });
    down.on('error', () => {});
    try {
      const stopped = await app.inject({ url: '/readyz' });
      expect(stopped.statusCode).toBe(503);
      expect(stopped.json()).toEqual({ status: 'not ready', redis: true, workers: false });
      workers = true;
      ctx.redis = down;
      const started = Date.now();
      const unreachable = await app.inject({ url: '/readyz' });
      expect(unreachable.statusCode).toBe(503);
      expect(unreachable.json()).toEqual({ status: 'not ready', redis: false, workers: true });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      ctx.redis = h.ctx.redis;
      await app.close();
      down.disconnect();
    }
  });
});

describe('/metrics', () => {
  it('counts ingest and clips in Prometheus format', async () => {
    const before = (await h.get('/metrics')).body;
    const stream = await h.createStream();
    const pushed = await h.pushLadder(stream, { from: 0, to: 1 });
    const clip = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: pushed.start / 1000, duration: 1 });
    expect(clip.statusCode).toBe(200);

    const res = await h.get('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const after = res.body;
    const bytes = [0, 1, 2].reduce((sum, v) => sum + fixtureChunkBytes(v, 0).length + fixtureChunkBytes(v, 1).length, 0);
    expect(sample(after, 'dvr_ingest_chunks_total') - sample(before, 'dvr_ingest_chunks_total')).toBe(6);
    expect(sample(after, 'dvr_ingest_bytes_total') - sample(before, 'dvr_ingest_bytes_total')).toBe(bytes);
    // Two media playlists per rendition, and the master.
    expect(sample(after, 'dvr_ingest_playlists_total') - sample(before, 'dvr_ingest_playlists_total')).toBe(7);
    expect(sample(after, 'dvr_clips_created_total') - sample(before, 'dvr_clips_created_total')).toBe(1);
    expect(sample(after, 'dvr_redis_used_memory_bytes')).toBeGreaterThan(0);
    for (const name of ['dvr_clips_finalized_total', 'dvr_mp4_remux_seconds', 'dvr_jobs_waiting', 'process_cpu_seconds_total']) {
      expect(after, name).toContain(`# TYPE ${name} `);
    }
    expect(after).toMatch(/^dvr_jobs_waiting\{queue="clip-finalize"\} \d+$/m);
  });
});

describe('/docs', () => {
  it('serves an OpenAPI document generated from the route schemas', async () => {
    const res = await h.get('/docs/json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/streaming/streams',
      '/streaming/streams/{stream_id}',
      '/streaming/streams/{stream_id}/dvr_cleanup',
      '/streaming/streams/{stream_id}/clip_recording',
      '/streaming/streams/{stream_id}/clip_recording/{clip_id}',
    ]));
    // The encoder and player URLs are not part of the management API.
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ingest') || p.startsWith('/rec'))).toEqual([]);
    const create = doc.paths['/streaming/streams/{stream_id}/clip_recording'].put;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['duration']);
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '422']));
    expect(doc.components.securitySchemes.apikey).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    expect((await h.get('/docs')).statusCode).toBeLessThan(400);
  });
});
