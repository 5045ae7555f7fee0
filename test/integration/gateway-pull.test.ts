// Pull from an HLS origin on real parts: a test ffmpeg writes a live
// two-rendition HLS into a folder that a static server on 127.0.0.1 serves;
// a stream with pull: true reads every rendition into the DVR; clips play.
// One puller per stream across processes (a lease in Redis), taken over when
// its holder is gone. Bad origins show on the stream and store nothing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClipPlays, pastAndLiveClips } from '../helpers/live-checks.js';
import {
  dvrHolding, freePort, serveDirectory, startLiveService, testEncoder, until, untilClipReady, type LiveService,
} from '../helpers/live-service.js';

const CHUNK_S = 1;
let s: LiveService;
let originDir: string;
let origin: { base: string; close(): Promise<void> };
let encoder: ChildProcess;

const view = async (svc: LiveService, id: number) => (await svc.api('GET', `/streaming/streams/${id}`)).body;

async function pullFrom(svc: LiveService, id: number, uri: string) {
  const res = await svc.api('PATCH', `/streaming/streams/${id}`, { pull: true, uri });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function mediaKeys(svc: LiveService, id: number): Promise<string[]> {
  const keys = await svc.service.ctx.redis.keys(`${svc.prefix}:{s${id}}*`);
  // The stream record, its puller's lease and the source mark are not media.
  return keys.filter((k) => !/:meta$|:pull:lease$|:source$/.test(k)).sort();
}

beforeAll(async () => {
  originDir = await mkdtemp(path.join(os.tmpdir(), 'dvr-origin-'));
  origin = await serveDirectory(originDir);
  // A live origin: two renditions, 1 s chunks, the last 8 listed, program date times.
  encoder = testEncoder([
    '-filter_complex', '[0:v]split=2[a][b];[a]scale=-2:240[v0];[b]scale=-2:360[v1]',
    '-map', '[v0]', '-map', '1:a', '-map', '[v1]', '-map', '1:a',
    '-b:v:0', '300k', '-b:v:1', '600k',
    '-f', 'hls', '-hls_time', String(CHUNK_S), '-hls_list_size', '8', '-hls_flags', 'independent_segments+program_date_time+delete_segments',
    '-master_pl_name', 'master.m3u8', '-var_stream_map', 'v:0,a:0 v:1,a:1',
    '-hls_segment_filename', path.join(originDir, 'o_%v_%05d.ts'), path.join(originDir, 'o_%v.m3u8'),
  ], { seconds: 60 });
  s = await startLiveService({ PULL_ALLOW_PRIVATE: '1' });
}, 30_000);

afterAll(async () => {
  encoder?.kill('SIGKILL');
  await s?.close();
  await origin?.close();
  await rm(originDir, { recursive: true, force: true });
}, 30_000);

describe('pull from an HLS origin', () => {
  it('every rendition of the master into the DVR, program date times kept; clips from the past and from now play, and their MP4', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'pulled' })).body;
    await pullFrom(s, stream.id, `${origin.base}/master.m3u8`);
    const body = await until('8 s of both renditions', () => dvrHolding(s, stream.id, 8, 2), 40_000);
    expect(body).toMatchObject({ live: true, stream_source_type: 'pull', pull_error: null });
    expect(body.renditions.map((r: { name: string }) => r.name)).toEqual(['media_1_240', 'media_2_360']);

    const past = await s.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 3, start: body.dvr_range.end - 6 });
    expect(past.body.status).toBe('ready');
    const media = await (await fetch(past.body.hls_master.replace('_master.m3u8', '_media_1_240.m3u8'))).text();
    // The origin's program date times, to the millisecond (ffmpeg writes them so).
    expect(media).toMatch(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}/);
    const live = await s.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 2 });
    const ready = await untilClipReady(s, stream.id, live.body.id, 'the clip from now', 30_000);
    for (const clip of [past.body, ready]) await expectClipPlays(clip, 2, CHUNK_S);
  }, 120_000);

  it('one media playlist; the first of several space-separated URLs that fails is skipped round-robin', async () => {
    const dead = `http://127.0.0.1:${await freePort()}/gone.m3u8`;
    const stream = (await s.api('POST', '/streaming/streams', { name: 'backup' })).body;
    await pullFrom(s, stream.id, `${dead} ${origin.base}/o_1.m3u8`);
    const body = await until('a rendition from the backup URL', async () => {
      const b = await view(s, stream.id);
      return b.renditions.length === 1 && b.renditions[0].height && b.dvr_range ? b : undefined;
    }, 30_000);
    expect(body.renditions[0].name).toBe('media_1_360');
    // Shown while it was failing, cleared once a whole round went well.
    await until('the error to clear', async () => (await view(s, stream.id)).pull_error === null, 10_000);
  }, 60_000);

  it('one puller per stream across processes; taken over when its holder is gone', async () => {
    // Two services of their own on one prefix: the holder's pulling is ended
    // below, and the service the other tests share must keep its own.
    const a = await startLiveService({ PULL_ALLOW_PRIVATE: '1' });
    const other = await startLiveService({ PULL_ALLOW_PRIVATE: '1' }, { prefix: a.prefix });
    try {
      const stream = (await a.api('POST', '/streaming/streams', { name: 'shared' })).body;
      await pullFrom(a, stream.id, `${origin.base}/master.m3u8`);
      await until('a puller', async () => a.service.gateways!.pull.streams().includes(stream.id) || other.service.gateways!.pull.streams().includes(stream.id), 10_000);
      await new Promise((r) => setTimeout(r, 4500)); // two scans of each process
      const holders = [a, other].filter((x) => x.service.gateways!.pull.streams().includes(stream.id));
      expect(holders).toHaveLength(1);
      // The holder dies without a word: its pulling ends, its lease is left to run out.
      const holder = holders[0];
      const heir = holder === a ? other : a;
      const lease = `${a.service.ctx.keys.stream.tag(stream.id)}:pull:lease`;
      await holder.service.gateways!.pull.close();
      await a.service.ctx.redis.set(lease, 'a-process-that-died', 'PX', 3000);
      await new Promise((r) => setTimeout(r, 2500));
      expect(heir.service.gateways!.pull.streams()).not.toContain(stream.id); // the lease still holds
      await until('the heir to pull', async () => heir.service.gateways!.pull.streams().includes(stream.id), 15_000);
      const before = (await view(a, stream.id)).dvr_range.end;
      await until('the DVR to keep growing', async () => (await view(a, stream.id)).dvr_range.end > before, 15_000);
    } finally {
      await other.close();
      await a.close();
    }
  }, 60_000);
});

describe('bad pull origins: shown on the stream, nothing stored, other streams unaffected', () => {
  it('not a URL, not http(s), unreachable, not a playlist, chunks 404; and private addresses without PULL_ALLOW_PRIVATE', async () => {
    await writeFile(path.join(originDir, 'notes.m3u8'), 'hello, this is not a playlist\n');
    await writeFile(path.join(originDir, 'missing.m3u8'),
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nnope_0.ts\n#EXTINF:1.0,\nnope_1.ts\n');
    // Refused by the API before any puller sees them: 400, nothing stored.
    for (const uri of ['this is not a url', 'ftp://127.0.0.1/live.m3u8']) {
      const res = await s.api('POST', '/streaming/streams', { name: 'bad uri', pull: true, uri });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/uri/);
    }
    const cases: Array<[string, RegExp]> = [
      [`http://127.0.0.1:${await freePort()}/live.m3u8`, /unreachable/],
      [`${origin.base}/notes.m3u8`, /not an HLS playlist/],
      [`${origin.base}/missing.m3u8`, /HTTP 404/],
    ];
    const good = (await s.api('POST', '/streaming/streams', { name: 'good' })).body;
    await pullFrom(s, good.id, `${origin.base}/o_0.m3u8`);
    const ids: number[] = [];
    for (const [uri] of cases) {
      const stream = (await s.api('POST', '/streaming/streams', { name: 'bad origin' })).body;
      await pullFrom(s, stream.id, uri);
      ids.push(stream.id);
    }
    for (let i = 0; i < cases.length; i++) {
      const b = await until(`pull_error of ${cases[i][0]}`, async () => {
        const v = await view(s, ids[i]);
        return v.pull_error ? v : undefined;
      }, 20_000);
      expect(b.pull_error).toMatch(cases[i][1]);
      expect(b.dvr_range).toBeNull();
      expect(await mediaKeys(s, ids[i])).toEqual([]);
    }
    const strict = await startLiveService({ PULL_ALLOW_PRIVATE: '0' });
    try {
      const stream = (await strict.api('POST', '/streaming/streams', { name: 'private' })).body;
      await pullFrom(strict, stream.id, `${origin.base}/master.m3u8`);
      const b = await until('the private refusal', async () => {
        const v = await view(strict, stream.id);
        return v.pull_error ? v : undefined;
      }, 15_000);
      expect(b.pull_error).toMatch(/private or loopback address: refused/);
      expect(await mediaKeys(strict, stream.id)).toEqual([]);
    } finally {
      await strict.close();
    }
    const before = await until('the good stream', async () => (await view(s, good.id)).dvr_range?.end, 20_000);
    await until('the good stream to keep growing', async () => (await view(s, good.id)).dvr_range.end > before, 15_000);
  }, 120_000);
});

describe('pull from an fMP4/CMAF origin', () => {
  let fmp4Dir: string;
  let fmp4Origin: { base: string; close(): Promise<void> };
  let fmp4Encoder: ChildProcess;
  beforeAll(async () => {
    fmp4Dir = await mkdtemp(path.join(os.tmpdir(), 'dvr-origin-fmp4-'));
    fmp4Origin = await serveDirectory(fmp4Dir);
    // One rendition of 1 s fMP4 chunks with its init segment (EXT-X-MAP), the last 8 listed.
    fmp4Encoder = testEncoder([
      '-f', 'hls', '-hls_time', String(CHUNK_S), '-hls_list_size', '8', '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4',
      '-hls_flags', 'independent_segments+program_date_time+delete_segments',
      '-hls_segment_filename', path.join(fmp4Dir, 'f_%05d.m4s'), path.join(fmp4Dir, 'f.m3u8'),
    ], { seconds: 60 });
  });
  afterAll(async () => {
    fmp4Encoder?.kill('SIGKILL');
    await fmp4Origin?.close();
    await rm(fmp4Dir, { recursive: true, force: true });
  });

  it('its chunks and init segment into the DVR: the live playlist and clips are fMP4 HLS (EXT-X-MAP, version 7), the MP4 a stream copy', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'pulled fmp4' })).body;
    await pullFrom(s, stream.id, `${fmp4Origin.base}/f.m3u8`);
    const body = await until('6 s of fMP4 chunks', () => dvrHolding(s, stream.id, 6, 1), 40_000);
    expect(body).toMatchObject({ stream_source_type: 'pull', pull_error: null });
    const live = await (await fetch(body.hls_url.replace('master', body.renditions[0].name))).text();
    expect(live).toMatch(/#EXT-X-VERSION:7/);
    expect(live).toMatch(/#EXT-X-MAP:URI="[^"]+"/);
    expect(live).toMatch(/\.m4s\n/);
    // A clip from the past and one from now, both fMP4 HLS, both play, their MP4 too.
    const { past, ready } = await pastAndLiveClips(s, stream.id, 'the fMP4 clip from now');
    for (const clip of [past.body, ready]) {
      const media = await (await fetch(clip.hls_master.replace('_master.m3u8', `_${body.renditions[0].name}.m3u8`))).text();
      expect(media).toMatch(/#EXT-X-MAP:URI="[^"]+"/);
      await expectClipPlays(clip, 1, CHUNK_S);
    }
  }, 120_000);
});
