// VOD promotion (SPEC 7): a vod_required clip becomes a permanent VOD whose
// HLS and MP4 decode cleanly, through the videos API and the public VOD URLs.
// Real Redis, real ffmpeg, the fixture ladder pushed through the ingest.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remuxTsToMp4 } from '../../src/mp4/remux.js';
import { enqueuePromotion, promotionJobId } from '../../src/vod/hook.js';
import { promoteVideo } from '../../src/vod/promote.js';
import { deleteVideoRecord, loadVideo, updateVideo, type VideoView } from '../../src/vod/records.js';
import { reconcileVods } from '../../src/vod/reconcile.js';
import { vodStorage } from '../../src/vod/storage.js';
import { BASE_URL, startHarness, type Harness } from '../helpers/harness.js';
import { decodeErrors, expectedVodFiles, ladderStream, vodClip, vodDir, vodFiles, waitJobDone, waitVideo } from '../helpers/vod.js';

let h: Harness;
let streamId: number;
let pushStart: number;
let origin: string;
/** The first VOD, made by the first test and used by the later ones. */
let first: VideoView;

const local = (url: string) => url.replace(BASE_URL, origin);
const pathOf = (url: string) => new URL(url).pathname;

beforeAll(async () => {
  h = await startHarness();
  const made = await ladderStream(h);
  streamId = made.stream.id;
  pushStart = made.start;
  // ffmpeg needs a real server; the URLs the API gives point at BASE_URL.
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('promotion of a vod_required clip', () => {
  it('answers at once with a pending record, then ends ready with progress 100', async () => {
    const videoId = await vodClip(h, streamId, Math.floor(pushStart / 1000) + 2, 6);
    const early = await h.api('GET', `/streaming/videos/${videoId}`);
    expect(early.statusCode).toBe(200);
    expect(['pending', 'ready']).toContain(early.json().status);

    await waitVideo(h, videoId);
    const res = await h.api('GET', `/streaming/videos/${videoId}`);
    expect(res.statusCode).toBe(200);
    first = res.json() as VideoView;
    const clip = (await h.api('GET', `/streaming/streams/${streamId}/clip_recording`)).json()[0];
    expect(first).toMatchObject({
      id: videoId, status: 'ready', progress: 100, stream_id: streamId, client_id: h.company.client_id, clip_id: clip.id,
    });
    expect(Object.keys(first).sort()).toEqual(
      ['client_id', 'clip_id', 'created_at', 'duration', 'hls_url', 'id', 'name', 'progress', 'status', 'stream_id', 'videos'],
    );
    expect(first.name).toMatch(/^VOD test stream \d{4}-\d\d-\d\dT/);
    expect(new Date(first.created_at).toISOString()).toBe(first.created_at);
    expect(first.hls_url).toMatch(new RegExp(`^${BASE_URL}/vod/${videoId}/[A-Za-z0-9]{24}/master\\.m3u8$`));
    // 6 s asked from a chunk boundary: 6 or 7 one-second chunks.
    expect(first.duration).toBeGreaterThanOrEqual(6000);
    expect(first.duration).toBeLessThanOrEqual(8000);
    expect(first.videos.map((v) => [v.rendition, v.width, v.height])).toEqual([
      ['media_1_240', 426, 240], ['media_2_480', 854, 480], ['media_3_720', 1280, 720],
    ]);
    for (const v of first.videos) {
      expect(Object.keys(v).sort()).toEqual(['bandwidth', 'height', 'id', 'rendition', 'segments', 'width']);
      expect(v.id).toMatch(/^vid-[A-Za-z0-9]{20,}$/);
      expect(v.segments).toBe(Math.round(first.duration / 1000));
      expect(v.bandwidth).toBeGreaterThan(100_000);
    }
    expect(new Set(first.videos.map((v) => v.id)).size).toBe(3);
    const job = await waitJobDone(h, videoId);
    expect(job.progress).toBe(100);
    expect(job.returnvalue).toBe('ready');
  });

  it('stores each rendition\'s chunks, playlists and MP4, a master and video.json, and nothing else', async () => {
    const video = (await loadVideo(h.ctx, first.id))!;
    const files = await vodFiles(h.ctx.config.dataDir, first.id);
    expect([...files.keys()].sort()).toEqual(expectedVodFiles(video));
    const manifest = JSON.parse(await readFile(path.join(vodDir(h.ctx.config.dataDir, first.id), 'video.json'), 'utf8'));
    expect(manifest).toMatchObject({ id: first.id, status: 'ready', progress: 100, secret: video.secret, videos: video.videos });
    const media = await h.get(local(first.hls_url).replace(origin, '').replace('master.m3u8', 'media_1_240.m3u8'));
    expect(media.statusCode).toBe(200);
    expect(media.body).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(media.body).toContain('#EXT-X-ENDLIST');
    expect(media.body).toContain('\nmedia_1_240/00001.ts\n');
  });

  it('plays: the master, each media playlist and each MP4 decode with no error', async () => {
    const base = local(first.hls_url).replace(/master\.m3u8$/, '');
    expect(await decodeErrors(`${base}master.m3u8`)).toBe('');
    for (const v of first.videos) {
      expect(await decodeErrors(`${base}${v.rendition}.m3u8`)).toBe('');
      expect(await decodeErrors(`${base}${v.rendition}.mp4`)).toBe('');
    }
  });

  it('serves the MP4 with ranges and CORS, and nothing outside the VOD layout', async () => {
    const mp4 = pathOf(first.hls_url).replace('master.m3u8', 'media_3_720.mp4');
    const whole = await h.get(mp4);
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-type']).toBe('video/mp4');
    expect(whole.headers['access-control-allow-origin']).toBe('*');
    expect(whole.rawPayload.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const part = await h.get(mp4, { range: 'bytes=100-199' });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${whole.rawPayload.length}`);
    expect(part.rawPayload).toEqual(whole.rawPayload.subarray(100, 200));
    expect((await h.get(mp4, { range: `bytes=${whole.rawPayload.length}-` })).statusCode).toBe(416);
    const preflight = await h.app.inject({
      method: 'OPTIONS', url: mp4, headers: { origin: 'https://player.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');

    const secretPath = pathOf(first.hls_url).replace('/master.m3u8', '');
    const wrongSecret = secretPath.replace(/\/[A-Za-z0-9]{24}$/, '/AAAAAAAAAAAAAAAAAAAAAAAA');
    for (const url of [
      `${wrongSecret}/master.m3u8`, `${secretPath}/video.json`, `${secretPath}/plan.json`, `${secretPath}/..%2Fvideo.json`,
      `${secretPath}/media_1_240/..%2F..%2F${first.id}%2Fvideo.json`, `${secretPath}/media_1_240/1.ts`, `/vod/0${first.id}/x/master.m3u8`,
    ]) {
      expect((await h.get(url)).statusCode, url).toBe(404);
    }
  });
});

describe('videos API', () => {
  it('lists the company\'s videos, newest first', async () => {
    const res = await h.api('GET', '/streaming/videos');
    expect(res.statusCode).toBe(200);
    expect(res.json().map((v: VideoView) => v.id)).toContain(first.id);
    expect((await h.api('GET', '/streaming/videos?page=2&per_page=100')).json()).toEqual([]);
    expect((await h.api('GET', '/streaming/videos?page=zero')).statusCode).toBe(400);
  });

  it('hides another company\'s video exactly as an unknown one', async () => {
    const other = await h.newCompany();
    const unknown = await h.api('GET', '/streaming/videos/987654321', undefined, other.api_key);
    const theirs = await h.api('GET', `/streaming/videos/${first.id}`, undefined, other.api_key);
    expect(unknown.statusCode).toBe(404);
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json().message).toBe(unknown.json().message.replace('987654321', String(first.id)));
    expect((await h.api('DELETE', `/streaming/videos/${first.id}`, undefined, other.api_key)).statusCode).toBe(404);
    expect((await h.api('GET', '/streaming/videos', undefined, other.api_key)).json()).toEqual([]);
    expect((await h.api('GET', `/streaming/videos/${first.id}`)).statusCode).toBe(200);
  });

  it('refuses ids of the wrong shape and calls without a key', async () => {
    for (const id of ['0', '01', 'abc', '-1', '1.5', '12345678901234567', '..%2F..%2Fetc']) {
      const res = await h.api('GET', `/streaming/videos/${id}`);
      expect(res.statusCode, id).toBe(400);
    }
    expect((await h.api('GET', `/streaming/videos/${first.id}`, undefined, null)).statusCode).toBe(401);
  });
});

describe('lifecycle', () => {
  it('idempotent: promoting again rewrites nothing and keeps one record', async () => {
    const deps = { storage: vodStorage(h.ctx.config), remux: remuxTsToMp4 };
    const dir = vodDir(h.ctx.config.dataDir, first.id);
    const before = await vodFiles(h.ctx.config.dataDir, first.id);
    expect(await promoteVideo(h.ctx, first.id, deps)).toBe('already-ready');
    // As if the worker died after the manifest, before the record said ready.
    await updateVideo(h.ctx, first.id, { status: 'pending', progress: 99 });
    expect(await promoteVideo(h.ctx, first.id, deps)).toBe('already-ready');
    expect((await h.api('GET', `/streaming/videos/${first.id}`)).json()).toEqual(first);
    // As if it died after the last media file, before the manifest.
    await rm(path.join(dir, 'video.json'));
    await updateVideo(h.ctx, first.id, { status: 'pending', progress: 98 });
    expect(await promoteVideo(h.ctx, first.id, deps)).toBe('ready');
    expect((await h.api('GET', `/streaming/videos/${first.id}`)).json()).toEqual(first);
    const after = await vodFiles(h.ctx.config.dataDir, first.id);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [file, was] of before) {
      expect(after.get(file)!.sha1, file).toBe(was.sha1);
      // Media already complete is skipped, not copied again.
      if (/\.(ts|mp4)$/.test(file)) expect(after.get(file)!.mtimeMs, file).toBe(was.mtimeMs);
    }
    const queue = h.service.queues.vodPromote;
    const job = await queue.getJob(promotionJobId(first.id));
    await enqueuePromotion(h.service.queues, first.id);
    expect((await queue.getJob(promotionJobId(first.id)))?.processedOn).toBe(job?.processedOn);
    expect(await h.keys('video:*')).toEqual([`${h.prefix}:video:${first.id}`]);
    expect(await h.ctx.redis.zrange(h.ctx.keys.companyVideos(h.company.client_id), 0, -1)).toEqual([String(first.id)]);
    expect(Object.values(await h.ctx.redis.hgetall(h.ctx.keys.renditionVideos))).toEqual(Array(3).fill(String(first.id)));
  });

  it('a retry after a partial attempt redoes only what is missing and leaves no temp file', async () => {
    const dir = vodDir(h.ctx.config.dataDir, first.id);
    const before = await vodFiles(h.ctx.config.dataDir, first.id);
    await rm(path.join(dir, 'media_2_480/00003.ts'));
    await rm(path.join(dir, 'media_1_240.mp4'));
    await rm(path.join(dir, 'video.json'));
    await writeFile(path.join(dir, 'media_2_480/.00004.ts.tmp-0123456789ab'), 'half a chunk');
    await updateVideo(h.ctx, first.id, { status: 'pending', progress: 40 });
    expect(await promoteVideo(h.ctx, first.id, { storage: vodStorage(h.ctx.config), remux: remuxTsToMp4 })).toBe('ready');
    const after = await vodFiles(h.ctx.config.dataDir, first.id);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    expect(after.get('media_2_480/00003.ts')!.sha1).toBe(before.get('media_2_480/00003.ts')!.sha1);
    expect(after.get('media_2_480/00004.ts')!.mtimeMs).toBe(before.get('media_2_480/00004.ts')!.mtimeMs);
    expect(await decodeErrors(path.join(dir, 'media_1_240.mp4'))).toBe('');
  });

  it('a clip whose stream was deleted before promotion still promotes from its pinned chunks', async () => {
    const { stream, start } = await ladderStream(h, 'Deleted soon');
    await h.service.queues.vodPromote.pause();
    const videoId = await vodClip(h, stream.id, Math.floor(start / 1000) + 3, 5);
    expect((await h.api('DELETE', `/streaming/streams/${stream.id}`)).statusCode).toBe(204);
    await h.service.queues.vodPromote.resume();
    const video = await waitVideo(h, videoId);
    expect(video.videos.every((v) => v.segments >= 5)).toBe(true);
    expect(await decodeErrors(`${local(`${BASE_URL}/vod/${videoId}/${video.secret}/master.m3u8`)}`)).toBe('');
  });

  it('a clip deleted before its promotion: its links answer 404, the promotion still completes, then its chunks go', async () => {
    await h.service.queues.vodPromote.pause();
    const videoId = await vodClip(h, streamId, Math.floor(pushStart / 1000) + 1, 3);
    const clipsUrl = `/streaming/streams/${streamId}/clip_recording`;
    const clip = ((await h.api('GET', clipsUrl)).json() as { id: string; video_id: number; hls_master: string }[])
      .find((c) => c.video_id === videoId)!;
    const media = (await h.get(pathOf(clip.hls_master).replace('master', 'media_1_240'))).body;
    const chunk = pathOf(new URL(media.split('\n').find((l) => l.endsWith('.ts'))!, clip.hls_master).href);
    expect((await h.api('DELETE', `${clipsUrl}/${clip.id}`)).statusCode).toBe(204);
    expect((await h.api('GET', `${clipsUrl}/${clip.id}`)).statusCode).toBe(404);
    expect((await h.api('GET', clipsUrl)).json().map((c: { id: string }) => c.id)).not.toContain(clip.id);
    const mediaPath = pathOf(clip.hls_master).replace('master', 'media_1_240');
    for (const url of [pathOf(clip.hls_master), mediaPath, chunk, pathOf(clip.hls_master).replace('.m3u8', '.mp4')]) {
      expect((await h.get(url)).statusCode, url).toBe(404);
    }
    expect((await h.api('DELETE', `${clipsUrl}/${clip.id}`)).statusCode).toBe(404);
    // The worker runs after the delete: the VOD the user asked for is made.
    await h.service.queues.vodPromote.resume();
    const video = await waitVideo(h, videoId);
    expect(video.status).toBe('ready');
    const files = await vodFiles(h.ctx.config.dataDir, videoId);
    expect([...files.keys()].sort()).toEqual(expectedVodFiles(video));
    // Done, the promotion let go of the clip: its record and hold are gone.
    expect(await h.keys(`{s${streamId}}:k:${clip.id}`)).toEqual([]);
    expect(await h.ctx.redis.zscore(h.ctx.keys.stream.held(streamId), clip.id)).toBeNull();
  });

  it('a DELETE during the promotion stops it, and no file is left behind', async () => {
    const queue = h.service.queues.vodPromote;
    await queue.pause();
    const videoId = await vodClip(h, streamId, Math.floor(pushStart / 1000) + 1, 4);
    const deps = {
      storage: vodStorage(h.ctx.config),
      remux: async (...args: Parameters<typeof remuxTsToMp4>) => {
        await h.api('DELETE', `/streaming/videos/${videoId}`);
        return remuxTsToMp4(...args);
      },
    };
    // The attempt stops with 'deleted', or fails and the next one cleans up.
    const outcome = await promoteVideo(h.ctx, videoId, deps).catch((err: Error) => err);
    if (outcome !== 'deleted') expect(await promoteVideo(h.ctx, videoId, deps)).toBe('deleted');
    expect((await vodFiles(h.ctx.config.dataDir, videoId)).size).toBe(0);
    expect(existsSync(path.join(h.ctx.config.dataDir, 'tmp', `vod-${videoId}`))).toBe(false);
    expect((await h.api('GET', `/streaming/videos/${videoId}`)).statusCode).toBe(404);
    await queue.resume();
    expect((await waitJobDone(h, videoId)).returnvalue).toBe('deleted');
  });

  it('a clip deleted while still recording keeps its VOD pending: the promotion follows its finalization', async () => {
    const videoId = await vodClip(h, streamId, Math.floor(h.clock.now() / 1000), 30);
    const clip = ((await h.api('GET', `/streaming/streams/${streamId}/clip_recording`)).json() as { id: string; video_id: number; status: string }[])
      .find((c) => c.video_id === videoId)!;
    expect(clip.status).toBe('recording');
    expect((await h.api('GET', `/streaming/videos/${videoId}`)).json().status).toBe('pending');
    expect((await h.api('DELETE', `/streaming/streams/${streamId}/clip_recording/${clip.id}`)).statusCode).toBe(204);
    expect((await h.api('GET', `/streaming/streams/${streamId}/clip_recording/${clip.id}`)).statusCode).toBe(404);
    expect((await h.api('GET', `/streaming/videos/${videoId}`)).json().status).toBe('pending');
    expect(await h.ctx.redis.zscore(h.ctx.keys.stream.recording(streamId), clip.id)).not.toBeNull();
  });

  it('restores a finished VOD whose Redis record was lost, and moves the id sequence past it', async () => {
    const record = (await loadVideo(h.ctx, first.id))!;
    await deleteVideoRecord(h.ctx, record);
    await h.ctx.redis.del(h.ctx.keys.videoSeq);
    expect((await h.api('GET', `/streaming/videos/${first.id}`)).statusCode).toBe(404);
    const result = await reconcileVods(h.ctx, vodStorage(h.ctx.config));
    expect(result.restored).toEqual([first.id]);
    expect(await loadVideo(h.ctx, first.id)).toEqual(record);
    expect(Number(await h.ctx.redis.get(h.ctx.keys.videoSeq))).toBeGreaterThanOrEqual(first.id);
    expect((await h.api('GET', `/streaming/videos/${first.id}`)).json()).toEqual(first);
    expect((await reconcileVods(h.ctx, vodStorage(h.ctx.config))).restored).toEqual([]);
  });

  it('DELETE removes the record, its files and its rendition ids', async () => {
    expect((await h.api('DELETE', `/streaming/videos/${first.id}`)).statusCode).toBe(204);
    expect((await h.api('GET', `/streaming/videos/${first.id}`)).statusCode).toBe(404);
    expect((await h.get(pathOf(first.hls_url))).statusCode).toBe(404);
    expect((await vodFiles(h.ctx.config.dataDir, first.id)).size).toBe(0);
    const mapped = await h.ctx.redis.hmget(h.ctx.keys.renditionVideos, ...first.videos.map((v) => v.id));
    expect(mapped).toEqual([null, null, null]);
    expect((await h.api('GET', '/streaming/videos')).json().map((v: VideoView) => v.id)).not.toContain(first.id);
    expect((await h.api('DELETE', `/streaming/videos/${first.id}`)).statusCode).toBe(404);
  });
});
