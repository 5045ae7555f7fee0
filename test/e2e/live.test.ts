// The whole product on real parts: ffmpeg publishes a live 720p stream over
// RTMP into a running service (nginx-rtmp), packaged as it is; clips from the past and from now are cut, played back by
// ffmpeg, listed, and expire.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { deletePrefixAt } from '../../src/redis/prefix.js';
import { demoEncoderArgs } from '../../src/demo/encoder.js';
import { startService, type Service } from '../../src/service.js';
import { createCompany } from '../../src/tenancy/companies.js';
import { decodeErrors, freePort, mediaDuration, sleep, until } from '../helpers/live-service.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHUNK_S = 1;
const PUSH_S = 40;

describe('live push to clips, end to end', () => {
  let service: Service;
  let base: string;
  let apiKey: string;
  let streamId: number;
  let encoder: ChildProcess;
  const prefix = `e2e${Date.now().toString(36)}`;

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `apikey ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  };

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config = loadConfig({
      ...process.env,
      REDIS_URL: redisUrl,
      KEY_PREFIX: prefix,
      DATA_DIR: await mkdtemp(path.join(os.tmpdir(), 'dvr-e2e-')),
      PORT: String(port),
      PUBLIC_BASE_URL: base,
      LOG_LEVEL: 'warn',
      FINALIZE_GRACE_SECONDS: '5',
      MP4_PREBUILD: '0',
      // Fed over RTMP, the path most producers take.
      RTMP_PORT: String(await freePort()),
      SRT_PORT: '0',
      GATEWAY_CHUNK_SECONDS: String(CHUNK_S),
    });
    service = await startService(config);
    await service.app!.listen({ port, host: '127.0.0.1' });
    apiKey = (await createCompany(service.ctx, 'E2E')).api_key;
    const created = await api('POST', '/streaming/streams', { name: 'e2e', dvr_duration: 300 });
    expect(created.status).toBe(201);
    streamId = created.body.id;
    encoder = spawn('ffmpeg', demoEncoderArgs(created.body.push_url, { hlsTime: CHUNK_S, durationSec: PUSH_S, overlay: false }), {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // The DVR needs a few seconds of history for a clip from the past.
    await until('12 s of DVR', async () => {
      const { body } = await api('GET', `/streaming/streams/${streamId}`);
      return body.dvr_range && body.dvr_range.end - body.dvr_range.start >= 12 && body.renditions.length === 1 && body.renditions[0].height ? body : undefined;
    }, 40_000);
  }, 60_000);

  afterAll(async () => {
    encoder?.kill('SIGKILL');
    await service?.close();
    // After close: running workers would write queue keys again.
    await deletePrefixAt(redisUrl, prefix);
  });

  it('cuts a clip from the past, a clip from now, plays both, lists them, and expires one', async () => {
    const stream = (await api('GET', `/streaming/streams/${streamId}`)).body;
    expect(stream.live).toBe(true);
    expect(stream.renditions.map((r: { name: string }) => r.name)).toEqual(['media_1_720']);

    const now = Math.floor(Date.now() / 1000);
    const past = await api('PUT', `/streaming/streams/${streamId}/clip_recording`, { duration: 6, start: now - 9 });
    expect(past.status).toBe(200);
    expect(past.body.status).toBe('ready');
    // Expires soon after its (past) end, so the test can watch it go.
    const short = await api('PUT', `/streaming/streams/${streamId}/clip_recording`, {
      duration: 2, start: stream.dvr_range.start + 1, expiration: stream.dvr_range.start + 3 + 60,
    });
    expect(short.status).toBe(200);
    const live = await api('POST', `/streaming/streams/${streamId}/clip_recording`, { duration: 6 });
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('recording');

    // While recording: EVENT, and it grows.
    const mediaUrl = live.body.hls_master.replace('_master.m3u8', '_media_1_720.m3u8');
    const early = await until('a first chunk', async () => {
      const text = await (await fetch(mediaUrl)).text();
      return text.includes('#EXTINF') ? text : undefined;
    }, 10_000);
    expect(early).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(early).not.toContain('#EXT-X-ENDLIST');
    const count = (text: string) => text.split('#EXTINF').length - 1;
    await until('the playlist to grow', async () => {
      const text = await (await fetch(mediaUrl)).text();
      return count(text) > count(early) ? text : undefined;
    }, 10_000);

    const ready = await until('the clip from now to be ready', async () => {
      const { body } = await api('GET', `/streaming/streams/${streamId}/clip_recording/${live.body.id}`);
      return body.status === 'ready' ? body : undefined;
    }, 30_000);
    const final = await (await fetch(mediaUrl)).text();
    expect(final).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(final.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);

    for (const clip of [past.body, ready]) {
      expect(await decodeErrors(clip.hls_master)).toBe('');
      for (const rendition of clip.renditions) {
        const duration = await mediaDuration(clip.hls_master.replace('_master.m3u8', `_${rendition}.m3u8`));
        expect(duration).toBeGreaterThanOrEqual(clip.duration - 0.1);
        expect(duration).toBeLessThanOrEqual(clip.duration + 2 * CHUNK_S + 0.1);
      }
    }

    const listed = (await api('GET', `/streaming/streams/${streamId}/clip_recording`)).body.map((c: { id: string }) => c.id);
    expect(listed).toEqual([live.body.id, short.body.id, past.body.id]);

    // Expiry: out of the list, every URL 404, its keys gone from Redis.
    const waitMs = short.body.expiration * 1000 - Date.now() + 500;
    if (waitMs > 0) await sleep(waitMs);
    expect((await api('GET', `/streaming/streams/${streamId}/clip_recording/${short.body.id}`)).status).toBe(404);
    const after = (await api('GET', `/streaming/streams/${streamId}/clip_recording`)).body.map((c: { id: string }) => c.id);
    expect(after).toEqual([live.body.id, past.body.id]);
    expect((await fetch(short.body.hls_master)).status).toBe(404);
    expect((await fetch(short.body.hls_master.replace('_master.m3u8', '_media_1_720.m3u8'))).status).toBe(404);
    expect(await service.ctx.redis.keys(`${prefix}:*${short.body.id}*`)).toEqual([]);
  }, 150_000);
});
