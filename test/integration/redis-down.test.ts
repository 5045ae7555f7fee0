// Redis goes away under the running service (a throwaway redis-server the
// test kills and starts again; never the shared one). Requests of every API
// family answer 503 at once in their own envelope, ingest answers 503 so the
// encoder retries, the log says it once (not once per reconnect attempt or
// worker poll), nothing is printed as unhandled, and when Redis is back
// everything works again by itself, the workers included. A SIGTERM while
// Redis is away still stops the service on time.
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureChunkBytes, ladder, livePlaylist, waitFor } from '../helpers/harness.js';
import {
  demoApiKey, stackTraceLines, startServiceProcess, tempDir, throwawayRedis, type ServiceProcess, type ThrowawayRedis,
} from '../helpers/service-process.js';

let redis: ThrowawayRedis;
let svc: ServiceProcess;
let apiKey: string;
let pushPath: string;
const dataDir = tempDir('dvr-redisdown-');
const PREFIX = 'rd';

/** A request must be answered this fast while Redis is away: generous, a hang never is. */
const ANSWER_MS = 6000;

beforeAll(async () => {
  redis = await throwawayRedis({ persist: true });
  svc = await startServiceProcess({ REDIS_URL: redis.url, KEY_PREFIX: PREFIX, CLEANER_INTERVAL_MS: '300', MP4_PREBUILD: '0' }, { dataDir });
  apiKey = demoApiKey(dataDir);
  const stream = await call('GET', '/streaming/streams/1');
  expect(stream.status).toBe(200);
  pushPath = new URL((stream.body as { push_url_hls: string }).push_url_hls).pathname;
}, 120_000);

afterAll(async () => {
  if (svc && svc.child.exitCode === null) process.kill(-svc.child.pid!, 'SIGKILL');
  await redis?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(method: string, url: string, opts: { body?: unknown; raw?: Buffer | string; key?: boolean } = {}) {
  const started = Date.now();
  const headers: Record<string, string> = {};
  if (opts.key !== false) headers.authorization = `apikey ${apiKey}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(svc.url(url), {
    method,
    headers,
    body: (typeof opts.raw === 'string' ? opts.raw : opts.raw && new Uint8Array(opts.raw)) ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    signal: AbortSignal.timeout(ANSWER_MS + 10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body, ms: Date.now() - started, headers: res.headers };
}

const pushChunk = (i: number) => call('PUT', `${pushPath}${ladder()[0][i].file}`, { raw: fixtureChunkBytes(0, i), key: false });
const pushPlaylist = (i: number) => call('PUT', `${pushPath}stream_0.m3u8`, { raw: livePlaylist(0, i), key: false });

async function cleanerRuns(): Promise<number> {
  const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  try {
    const keys = await admin.keys(`{${PREFIX}q}:dvr-cleaner:completed`);
    return keys.length ? await admin.zcard(keys[0]) : 0;
  } finally {
    admin.disconnect();
  }
}

describe('Redis unreachable, then back', () => {
  it('answers 503 fast in each family envelope, logs it once, and resumes by itself', async () => {
    expect((await pushChunk(0)).status).toBe(204);
    expect((await pushPlaylist(0)).status).toBe(204);
    const linesBefore = svc.output().split('\n').length - 1; // the last one is not finished yet

    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));

    const management = await call('GET', '/streaming/streams');
    expect(management.status).toBe(503);
    expect(management.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.stringContaining('retry') });
    expect(management.headers.get('retry-after')).toBeTruthy();
    expect(management.ms).toBeLessThan(ANSWER_MS);

    const clip = await call('PUT', '/streaming/streams/1/clip_recording', { body: { duration: 5 } });
    expect(clip.status).toBe(503);

    const ingest = await pushChunk(1);
    expect(ingest.status).toBe(503);
    expect(ingest.headers.get('retry-after')).toBeTruthy();
    expect(ingest.ms).toBeLessThan(ANSWER_MS);

    const login = await call('POST', '/api/v3/authenticate', { body: { username: 'u', password: 'p' }, key: false });
    expect(login.status).toBe(503);
    expect(login.body).toEqual({ error: { code: 503, message: expect.any(String) } });

    // The seed families keep their envelopes (a token they can check without Redis may still be refused first).
    const segment = await call('POST', '/api/um-get-hls-segment/1/1', { body: { user_token: 'x.y.z' }, key: false });
    expect([401, 503]).toContain(segment.status);
    expect(segment.body).toEqual({ message: expect.any(String), result: [], status: segment.status });
    const records = await call('GET', '/api/v3/records/1?access_token=x.y.z', { key: false });
    expect([401, 503]).toContain(records.status);
    expect(records.body).toEqual({ error: { code: records.status, message: expect.any(String) } });

    const playback = await call('GET', '/rec/1_1/rec_abcdefghijklmnop_master.m3u8', { key: false });
    expect(playback.status).toBe(503);

    const ready = await call('GET', '/readyz', { key: false });
    expect(ready.status).toBe(503);
    expect((await call('GET', '/healthz', { key: false })).status).toBe(200);

    // Some seconds of outage: reconnect attempts and worker polls go on all along.
    for (let i = 0; i < 8; i++) {
      expect((await call('GET', '/streaming/streams')).status).toBe(503);
      await new Promise((r) => setTimeout(r, 500));
    }

    const cleanedBefore = await redis.start().then(cleanerRuns);
    // Back by itself: the API, ingest, and the workers (the cleaner runs again).
    await waitFor(async () => (await call('GET', '/readyz', { key: false })).status === 200, 'readyz 200 again', 15_000, 200);
    const list = await call('GET', '/streaming/streams');
    expect(list.status).toBe(200);
    expect((await pushChunk(1)).status).toBe(204);
    expect((await pushPlaylist(1)).status).toBe(204);
    await waitFor(async () => (await cleanerRuns()) > cleanedBefore, 'a cleaner job to complete again', 20_000, 300);

    const during = svc.output().split('\n').slice(linesBefore).join('\n');
    expect(during).not.toMatch(/Unhandled error event|\[ioredis\]/);
    expect(stackTraceLines(during)).toEqual([]);
    const loud = during.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 40);
    // One line when Redis went away, none per reconnect attempt or worker poll (a task that
    // was running at that moment may say it failed).
    expect(loud.filter((l) => /^redis unreachable/.test(l.msg))).toHaveLength(1);
    expect(loud.filter((l) => l.msg === 'redis client error')).toHaveLength(0);
    expect(loud.length, JSON.stringify(loud.map((l) => l.msg))).toBeLessThanOrEqual(6);
    expect(svc.logs().some((l) => l.msg === 'redis reachable again')).toBe(true);
  }, 120_000);

  it('a SIGTERM while Redis is away stops the service on time', async () => {
    await redis.stop();
    await waitFor(async () => (await call('GET', '/readyz', { key: false })).status === 503, 'readyz 503', 10_000, 200);
    const sent = Date.now();
    process.kill(svc.child.pid!, 'SIGTERM');
    const exit = await svc.exited;
    expect(exit.code, svc.output().slice(-3000)).toBe(0);
    expect(exit.at - sent).toBeLessThan(15_000);
    expect(svc.logs().some((l) => l.msg === 'stopped')).toBe(true);
    expect(svc.output()).not.toMatch(/Unhandled error event/);
  }, 60_000);
});
