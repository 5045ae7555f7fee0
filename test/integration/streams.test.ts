// Streams (SPEC 3): the management API and what a stream shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { BASE_URL, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const chunkUrls = (playlist: string) => playlist.split('\n').filter((l) => l.endsWith('.ts'));

describe('POST /streaming/streams', () => {
  it('201 with every field, DVR on for an hour by default', async () => {
    const res = await h.api('POST', '/streaming/streams', { name: 'Main stage' });
    expect(res.statusCode).toBe(201);
    const stream = res.json();
    expect(Object.keys(stream).sort()).toEqual([
      'active', 'client_id', 'created_at', 'dvr_duration', 'dvr_enabled', 'dvr_range', 'hls_url', 'id', 'ingest_error', 'live', 'name',
      'pull', 'pull_error', 'push_url', 'push_url_hls', 'push_url_rtmps', 'push_url_srt', 'renditions', 'screenshot', 'stream_source_type',
      'transcode', 'uri',
    ]);
    // No chunk yet, so no thumbnail yet.
    expect(stream.screenshot).toBeNull();
    expect(stream).toMatchObject({
      client_id: h.company.client_id,
      name: 'Main stage',
      dvr_enabled: true,
      dvr_duration: 3600,
      live: false,
      renditions: [],
      dvr_range: null,
      hls_url: expect.stringMatching(new RegExp(`^${BASE_URL}/live/${h.company.client_id}_${stream.id}/[A-Za-z0-9_-]{16}/master\\.m3u8$`)),
      created_at: new Date(h.clock.now()).toISOString(),
    });
    expect(Number.isInteger(stream.id)).toBe(true);
    // The push URL carries a secret, unguessable key.
    expect(stream.push_url_hls).toMatch(new RegExp(`^${BASE_URL}/ingest/[A-Za-z0-9_-]{16,64}/$`));
    const key = new URL(stream.push_url_hls).pathname.split('/')[2];
    // RTMP as Gcore's (what OBS users paste) and SRT routed by streamid, both with the same key.
    expect(stream.push_url).toBe(`rtmp://dvr.test:0/in/${key}`);
    expect(stream.push_url_srt).toBe(`srt://dvr.test:0?streamid=${key}`);
    // No certificate configured: no RTMPS.
    expect(stream.push_url_rtmps).toBeNull();
    const other = await h.createStream({ name: 'Second' });
    expect(other.push_url).not.toBe(stream.push_url);
    expect(other.id).not.toBe(stream.id);
  });

  it('takes dvr_enabled and dvr_duration, 30…14400 inclusive', async () => {
    expect(await h.createStream({ name: 'a', dvr_enabled: false, dvr_duration: 30 })).toMatchObject({ dvr_enabled: false, dvr_duration: 30 });
    expect(await h.createStream({ name: 'b', dvr_duration: 14400 })).toMatchObject({ dvr_enabled: true, dvr_duration: 14400 });
  });

  it.each([
    [{ name: 'x', dvr_duration: 29 }, /dvr_duration/],
    [{ name: 'x', dvr_duration: 14401 }, /dvr_duration/],
    [{ name: 'x', dvr_duration: 60.5 }, /dvr_duration/],
    [{ name: 'x', dvr_duration: '60' }, /dvr_duration/],
    [{ name: 'x', dvr_enabled: 'yes' }, /dvr_enabled/],
    [{}, /name/],
    [{ name: '' }, /name/],
    [{ name: 'x', colour: 'red' }, /"colour"/],
  ])('400 for %j, naming the field', async (body, message) => {
    const before = await h.snapshot();
    const res = await h.api('POST', '/streaming/streams', body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(message) });
    expect(await h.snapshot()).toEqual(before);
  });

  it('400 for a body that is not a JSON object', async () => {
    const headers = { authorization: `apikey ${h.company.api_key}` };
    const broken = await h.app.inject({
      method: 'POST', url: '/streaming/streams', headers: { ...headers, 'content-type': 'application/json' }, payload: '{"name": ',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().statusCode).toBe(400);
    const text = await h.app.inject({
      method: 'POST', url: '/streaming/streams', headers: { ...headers, 'content-type': 'text/plain' }, payload: 'name=x',
    });
    expect(text.statusCode).toBe(400);
    expect(text.json().message).toMatch(/body/);
  });

  it('413 for a body over the size limit', async () => {
    const before = await h.snapshot();
    const res = await h.api('POST', '/streaming/streams', { name: 'x'.repeat(100), padding: 'y'.repeat(h.ctx.config.maxBodyBytes) });
    expect(res.statusCode).toBe(413);
    expect(await h.snapshot()).toEqual(before);
  });
});

describe('GET, PATCH, DELETE /streaming/streams/{id}', () => {
  let stream: StreamView;

  beforeAll(async () => {
    stream = await h.createStream({ name: 'Lifecycle', dvr_duration: 600 });
  });

  it('lists the company streams and gets one', async () => {
    const list = await h.api('GET', '/streaming/streams');
    expect(list.statusCode).toBe(200);
    expect(list.json()).toContainEqual(stream);
    const one = await h.api('GET', `/streaming/streams/${stream.id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(stream);
  });

  it('404 for an unknown id, 400 for one that is not an id', async () => {
    expect((await h.api('GET', '/streaming/streams/987654')).statusCode).toBe(404);
    for (const bad of ['abc', '0', '-1', '1.5', '..%2F1']) {
      const res = await h.api('GET', `/streaming/streams/${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().message).toMatch(/stream_id/);
    }
  });

  it('PATCH changes name, dvr_enabled and dvr_duration, nothing else', async () => {
    const res = await h.api('PATCH', `/streaming/streams/${stream.id}`, { name: 'Renamed', dvr_duration: 900, dvr_enabled: false });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...stream, name: 'Renamed', dvr_duration: 900, dvr_enabled: false });
    expect((await h.api('GET', `/streaming/streams/${stream.id}`)).json()).toMatchObject({ name: 'Renamed', dvr_duration: 900 });
    const back = await h.api('PATCH', `/streaming/streams/${stream.id}`, { dvr_enabled: true });
    expect(back.json()).toMatchObject({ name: 'Renamed', dvr_enabled: true, dvr_duration: 900 });
  });

  it('PATCH refuses bad values, unknown fields and an empty patch', async () => {
    const before = await h.snapshot();
    for (const body of [{ dvr_duration: 20 }, { dvr_duration: 20000 }, { push_url: 'x' }, { id: 5 }, {}, { name: '' }]) {
      expect((await h.api('PATCH', `/streaming/streams/${stream.id}`, body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    expect(await h.snapshot()).toEqual(before);
  });

  it('DELETE answers 204, then the stream is gone everywhere', async () => {
    const doomed = await h.createStream({ name: 'Doomed' });
    expect((await h.api('DELETE', `/streaming/streams/${doomed.id}`)).statusCode).toBe(204);
    expect((await h.api('GET', `/streaming/streams/${doomed.id}`)).statusCode).toBe(404);
    expect((await h.api('DELETE', `/streaming/streams/${doomed.id}`)).statusCode).toBe(404);
    expect((await h.api('PATCH', `/streaming/streams/${doomed.id}`, { name: 'x' })).statusCode).toBe(404);
    expect((await h.api('GET', '/streaming/streams')).json().map((s: StreamView) => s.id)).not.toContain(doomed.id);
    expect((await h.get(doomed.hls_url)).statusCode).toBe(404);
    // Its push URL no longer takes anything.
    expect((await h.push(doomed, 'stream_0.m3u8', '#EXTM3U\n')).statusCode).toBe(404);
  });
});

describe('a stream with media', () => {
  it('DELETE drops the DVR, but its clips play until they expire', async () => {
    const stream = await h.createStream({ name: 'Deleted with clips', dvr_duration: 120 });
    const pushed = await h.pushLadder(stream, { from: 0, to: 4 });
    const cut = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: pushed.start / 1000 + 1, duration: 2 });
    expect(cut.statusCode).toBe(200);
    const clip = cut.json();
    const chunksBefore = await h.keys(`{s${stream.id}}:c:*`);
    expect(chunksBefore).toHaveLength(15);

    expect((await h.api('DELETE', `/streaming/streams/${stream.id}`)).statusCode).toBe(204);
    expect((await h.api('GET', `/streaming/streams/${stream.id}/clip_recording/${clip.id}`)).statusCode).toBe(404);
    // Only the chunks the clip holds are left: 2 per rendition.
    expect(await h.keys(`{s${stream.id}}:c:*`)).toHaveLength(6);
    const master = await h.get(clip.hls_master);
    expect(master.statusCode).toBe(200);
    const media = await h.get(clip.hls_master.replace('master', 'media_3_720'));
    expect(media.statusCode).toBe(200);
    const chunks = chunkUrls(media.body);
    expect(chunks).toHaveLength(2);
    for (const chunk of chunks) {
      const res = await h.get(new URL(chunk, clip.hls_master).href);
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload[0]).toBe(0x47); // an MPEG-TS sync byte
    }
  });

  it('dvr_cleanup empties the DVR; clips already made still play', async () => {
    const stream = await h.createStream({ name: 'Cleaned', dvr_duration: 120 });
    const pushed = await h.pushLadder(stream, { from: 0, to: 4 });
    const before = (await h.api('GET', `/streaming/streams/${stream.id}`)).json();
    expect(before.dvr_range).toEqual({ start: pushed.start / 1000, end: pushed.end / 1000 });
    const clip = (await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: pushed.start / 1000, duration: 2 })).json();
    const liveMedia = before.hls_url.replace('master', 'media_1_240');
    expect(chunkUrls((await h.get(liveMedia)).body)).toHaveLength(5);

    const res = await h.api('PUT', `/streaming/streams/${stream.id}/dvr_cleanup`);
    expect(res.statusCode).toBe(204);
    const after = (await h.api('GET', `/streaming/streams/${stream.id}`)).json();
    expect(after.dvr_range).toBeNull();
    expect(after.renditions.map((r: { name: string }) => r.name)).toEqual(['media_1_240', 'media_2_480', 'media_3_720']);
    const emptied = await h.get(liveMedia);
    expect(emptied.statusCode).toBe(200);
    expect(chunkUrls(emptied.body)).toEqual([]);
    expect(await h.keys(`{s${stream.id}}:c:*`)).toHaveLength(6);
    // No clip can be cut from what is gone.
    const late = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: pushed.start / 1000 + 2, duration: 2 });
    expect(late.statusCode).toBe(422);

    const media = await h.get(clip.hls_master.replace('master', 'media_1_240'));
    expect(media.statusCode).toBe(200);
    expect(media.body).toContain('#EXT-X-ENDLIST');
    for (const chunk of chunkUrls(media.body)) expect((await h.get(new URL(chunk, clip.hls_master).href)).statusCode).toBe(200);

    // The encoder carries on: the DVR fills again.
    await h.pushLadder(stream, { from: 5, to: 6 });
    const refilled = (await h.api('GET', `/streaming/streams/${stream.id}`)).json();
    expect(refilled.dvr_range).toEqual({ start: pushed.end / 1000, end: pushed.end / 1000 + 2 });
  });
});
