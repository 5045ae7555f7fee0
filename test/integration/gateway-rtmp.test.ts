// RTMP ingest on real parts: ffmpeg publishes `-f flv rtmp://…/in/KEY` into
// nginx-rtmp run by the service; the packager puts HLS into the DVR; clips of
// it play. Every refusal happens at connect time and stores nothing.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoEncoderArgs } from '../../src/demo/encoder.js';
import { ladderFor } from '../../src/gateways/ladder.js';
import { expectClipPlays, pastAndLiveClips } from '../helpers/live-checks.js';
import {
  decodeErrors, dvrHolding, finished, freePort, mediaDuration, sleep, startLiveService, testEncoder, until, type LiveService,
} from '../helpers/live-service.js';

const CHUNK_S = 1;
let s: LiveService;
let rtmpPort: number;

beforeAll(async () => {
  rtmpPort = await freePort();
  s = await startLiveService({ RTMP_PORT: String(rtmpPort), GATEWAY_CHUNK_SECONDS: String(CHUNK_S) });
}, 30_000);

afterAll(async () => {
  await s?.close();
}, 30_000);

const view = async (id: number) => (await s.api('GET', `/streaming/streams/${id}`)).body;

/** Every Redis key of one stream (its hash tag), the meta hash aside. */
async function streamKeys(id: number): Promise<string[]> {
  const keys = await s.service.ctx.redis.keys(`${s.prefix}:{s${id}}*`);
  return keys.filter((k) => !k.endsWith(':meta')).sort();
}

async function publish(url: string, seconds: number, extra: string[] = [], size?: string) {
  const child = testEncoder(['-f', 'flv', url], { seconds, size, extra });
  return { child, result: finished(child) };
}

const waitForDvr = (id: number, seconds: number, timeoutMs = 30_000) =>
  until(`${seconds} s of DVR`, () => dvrHolding(s, id, seconds), timeoutMs);

/** A clip from the past and one from now, both played to the end, and their MP4. */
async function clipsPlay(id: number, renditions: number) {
  const { past, ready } = await pastAndLiveClips(s, id, 'the clip from now to be ready');
  expect(past.status).toBe(200);
  for (const clip of [past.body, ready]) {
    await expectClipPlays(clip, renditions, CHUNK_S);
    expect(await mediaDuration(clip.mp4_master)).toBeGreaterThanOrEqual(clip.duration - 0.1);
  }
}

describe('RTMP publish', () => {
  it('transcode "source": one rendition, copied; clips from the past and from now play, and their MP4', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'obs' })).body;
    expect(stream.push_url).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.1:${rtmpPort}/in/[A-Za-z0-9_-]{16,64}$`));
    const enc = await publish(stream.push_url, 12);
    const body = await waitForDvr(stream.id, 6);
    expect(body).toMatchObject({ live: true, stream_source_type: 'rtmp', ingest_error: null });
    expect(body.renditions.map((r: { name: string }) => r.name)).toEqual(['media_1_360']);
    expect(body.renditions[0]).toMatchObject({ width: 640, height: 360, keyframeAligned: true });
    await clipsPlay(stream.id, 1);
    expect((await enc.result).code).toBe(0);
    await until('the source mark to go', async () => (await view(stream.id)).stream_source_type !== 'rtmp', 10_000);
  }, 90_000);

  it('transcode "abr": the source height and lower rungs, never upscaled, aligned', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'ladder', transcode: 'abr' })).body;
    expect(stream.transcode).toBe('abr');
    // A small source keeps the ladder cheap on a shared machine: 270p and 240p.
    const rungs = ladderFor(270);
    expect(rungs.map((r) => r.height)).toEqual([270, 240]);
    const enc = await publish(stream.push_url, 22, [], '480x270');
    const body = await until('both rungs', async () => {
      const b = await waitForDvr(stream.id, 8, 60_000);
      return b.renditions.length === rungs.length ? b : undefined;
    }, 70_000);
    expect(body.renditions.map((r: { name: string }) => r.name)).toEqual(['media_1_240', 'media_2_270']);
    for (const r of body.renditions) expect(r.keyframeAligned).toBe(true);
    await clipsPlay(stream.id, rungs.length);
    await enc.result;
  }, 180_000);

  // The packager plays the publish back from nginx and joins it a moment after its
  // first keyframe: its video starts at the next one, a whole GOP later. With the
  // demo's 2 s and an OBS user's 4 s keyframe interval the stream must still come
  // in with its picture, not as audio alone.
  it('keyframe intervals encoders use (the demo encoder\'s 2 s at 720p, 4 s): the picture comes in, not audio alone', async () => {
    const demo = (await s.api('POST', '/streaming/streams', { name: 'demo-like' })).body;
    const slow = (await s.api('POST', '/streaming/streams', { name: 'gop 4 s' })).body;
    const demoEnc = spawn('ffmpeg', demoEncoderArgs(demo.push_url, { durationSec: 14, overlay: false }), { stdio: ['ignore', 'ignore', 'pipe'] });
    const slowEnc = await publish(slow.push_url, 14, ['-g', '100', '-keyint_min', '100']);
    const demoDone = finished(demoEnc);
    for (const [stream, height] of [[demo, 720], [slow, 360]] as const) {
      const body = await waitForDvr(stream.id, 4, 60_000);
      expect(body.renditions).toHaveLength(1);
      expect(body.renditions[0]).toMatchObject({ height });
      expect(body.renditions[0].codecs).toMatch(/avc1\..*mp4a/);
    }
    expect((await demoDone).code).toBe(0);
    expect((await slowEnc.result).code).toBe(0);
  }, 90_000);

  it('the DVR holds the publish from its first frame: the reader joins before the publish starts, not a GOP late', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'from the start' })).body;
    // A 4 s keyframe interval: a reader joining after the first keyframe would lose 4 s.
    const enc = await publish(stream.push_url, 12, ['-g', '100', '-keyint_min', '100']);
    expect((await enc.result).code).toBe(0);
    const range = await until('the last chunk of the publish', async () => {
      const b = await view(stream.id);
      return b.dvr_range && b.dvr_range.end - b.dvr_range.start >= 11 ? b.dvr_range : undefined;
    }, 20_000).catch(async () => (await view(stream.id)).dvr_range);
    expect(range.end - range.start).toBeGreaterThanOrEqual(11);
  }, 60_000);

  it('a publisher that drops and comes back continues the DVR; one clip across the gap plays', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'flaky' })).body;
    const first = await publish(stream.push_url, 4);
    expect((await first.result).code).toBe(0);
    await sleep(1500);
    const second = await publish(stream.push_url, 5);
    expect((await second.result).code).toBe(0);
    const body = await waitForDvr(stream.id, 8);
    // From inside the first run to inside the second: across the gap.
    const { start, end } = body.dvr_range;
    const clip = await s.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: end - start - 2, start: start + 1 });
    expect(clip.status).toBe(200);
    expect(clip.body.status).toBe('ready');
    const media = await (await fetch(clip.body.hls_master.replace('_master.m3u8', `_${body.renditions[0].name}.m3u8`))).text();
    expect(media).toContain('#EXT-X-DISCONTINUITY');
    expect(await decodeErrors(clip.body.hls_master)).toBe('');
    expect(await decodeErrors(clip.body.mp4_master)).toBe('');
    // The MP4 puts the second run right after the first: no hole of seconds where
    // the timestamps restarted. Each run may open with up to a GOP (1 s) of sound
    // before its first picture, beyond what the playlist's EXTINFs count.
    const hls = await mediaDuration(clip.body.hls_master.replace('_master.m3u8', `_${body.renditions[0].name}.m3u8`));
    expect(await mediaDuration(clip.body.mp4_master)).toBeLessThan(hls + 2 * CHUNK_S);
  }, 90_000);
});

describe('RTMP refusals: at connect time, nothing stored, other streams unaffected', () => {
  it('wrong key, no key, deleted stream, inactive stream, application other than `in`; a live stream beside them goes on', async () => {
    const good = (await s.api('POST', '/streaming/streams', { name: 'good' })).body;
    const gone = (await s.api('POST', '/streaming/streams', { name: 'gone' })).body;
    expect((await s.api('DELETE', `/streaming/streams/${gone.id}`)).status).toBe(204);
    const idle = (await s.api('POST', '/streaming/streams', { name: 'idle' })).body;
    expect((await s.api('PATCH', `/streaming/streams/${idle.id}`, { active: false })).status).toBe(200);
    const live = await publish(good.push_url, 30);
    await waitForDvr(good.id, 2);
    const key = good.push_url.split('/').pop();
    const refused = [
      `rtmp://127.0.0.1:${rtmpPort}/in/${'x'.repeat(24)}`,
      `rtmp://127.0.0.1:${rtmpPort}/in/`,
      gone.push_url,
      idle.push_url,
      `rtmp://127.0.0.1:${rtmpPort}/live/${key}`,
    ];
    const results = await Promise.all(refused.map(async (url) => (await publish(url, 3)).result));
    for (const r of results) expect(r.code).not.toBe(0);
    expect(await streamKeys(idle.id)).toEqual([]);
    expect((await view(idle.id)).dvr_range).toBeNull();
    const before = (await view(good.id)).dvr_range.end;
    await until('the live stream to keep growing', async () => (await view(good.id)).dvr_range.end > before, 20_000);
    expect((await view(good.id)).stream_source_type).toBe('rtmp');
    await live.result;
  }, 90_000);

  it('a second publisher on a live stream is refused; the first keeps going', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'contested' })).body;
    const first = await publish(stream.push_url, 30);
    await waitForDvr(stream.id, 2);
    const second = await publish(stream.push_url, 3);
    expect((await second.result).code).not.toBe(0);
    const before = (await view(stream.id)).dvr_range.end;
    await until('the first publisher to keep feeding', async () => (await view(stream.id)).dvr_range.end > before, 10_000);
    expect((await first.result).code).toBe(0);
  }, 60_000);

  it('a stream an encoder pushes HLS to is refused to an RTMP publisher; the push keeps going', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'pushed' })).body;
    const pusher = testEncoder(['-f', 'hls', '-hls_time', '1', '-hls_list_size', '4', '-method', 'PUT', '-http_persistent', '0',
      '-hls_segment_filename', `${stream.push_url_hls}s_%05d.ts`, `${stream.push_url_hls}index.m3u8`], { seconds: 25 });
    const pushed = finished(pusher);
    await waitForDvr(stream.id, 3);
    expect((await view(stream.id)).stream_source_type).toBe('https');
    const rtmp = await publish(stream.push_url, 3);
    expect((await rtmp.result).code).not.toBe(0);
    const before = (await view(stream.id)).dvr_range.end;
    await until('the HLS push to keep feeding', async () => (await view(stream.id)).dvr_range.end > before, 10_000);
    expect((await view(stream.id)).stream_source_type).toBe('https');
    expect((await pushed).code).toBe(0);
  }, 60_000);

  it('garbage bytes close the connection; a codec that cannot be packaged is said on the stream, nothing stored', async () => {
    const garbage = await new Promise<string>((resolve) => {
      const socket = net.connect(rtmpPort, '127.0.0.1', () => socket.write(Buffer.alloc(4096, 0x5a)));
      socket.on('error', () => resolve('error'));
      socket.on('close', () => resolve('closed'));
      socket.setTimeout(15_000, () => { socket.destroy(); resolve('timeout'); });
    });
    expect(garbage).not.toBe('timeout');

    const stream = (await s.api('POST', '/streaming/streams', { name: 'old flash' })).body;
    const enc = await publish(stream.push_url, 6, ['-c:v', 'flv1', '-c:a', 'nellymoser', '-ar', '44100', '-ac', '1']);
    const body = await until('the codec refusal on the stream', async () => {
      const b = await view(stream.id);
      return b.ingest_error ? b : undefined;
    }, 20_000);
    expect(body.ingest_error).toMatch(/codec flv1 cannot be packaged/);
    await enc.result;
    expect(await streamKeys(stream.id)).toEqual([]);
    expect((await view(stream.id)).renditions).toEqual([]);
  }, 60_000);
});
