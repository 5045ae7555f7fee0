// Stream settings of SPEC 3 beyond the DVR (active, pull, uri, transcode),
// the two body shapes of PATCH, and the names of refused fields.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureChunkBytes, ladder, livePlaylist, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('stream settings', () => {
  it('defaults: active push stream from the source, no uri, nothing feeding it yet', async () => {
    const stream = await h.createStream({ name: 'Defaults' });
    expect(stream).toMatchObject({ active: true, pull: false, uri: '', transcode: 'source', stream_source_type: null });
    expect(stream.push_url_hls).toMatch(/^http:\/\/dvr\.test\/ingest\/[A-Za-z0-9_-]{16,64}\/$/);
  });

  it('stores, validates and returns active, pull, uri and transcode', async () => {
    const uri = 'https://origin.example/live/a.m3u8 http://backup.example:8080/live/a.m3u8';
    const stream = await h.createStream({ name: 'Pulled', active: false, pull: true, uri, transcode: 'abr' });
    expect(stream).toMatchObject({ active: false, pull: true, uri, transcode: 'abr' });
    const got = await h.api('GET', `/streaming/streams/${stream.id}`);
    expect(got.json()).toMatchObject({ active: false, pull: true, uri, transcode: 'abr' });
    const patched = await h.api('PATCH', `/streaming/streams/${stream.id}`, { pull: false, uri: '', active: true, transcode: 'source' });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ active: true, pull: false, uri: '', transcode: 'source' });
  });

  it.each([
    [{ name: 'x', uri: 'ftp://origin.example/a' }, /uri must be one or more http\(s\) URLs/],
    [{ name: 'x', uri: 'https://a.example/x  https://b.example/y' }, /uri/],
    [{ name: 'x', uri: 'https://a.example/\u0000' }, /uri/],
    [{ name: 'x', uri: 'http://' }, /uri/],
    [{ name: 'x', pull: true }, /pull: true needs a uri/],
    [{ name: 'x', pull: 'yes' }, /pull/],
    [{ name: 'x', active: 0 }, /active/],
    [{ name: 'x', transcode: 'h265' }, /transcode must be one of: source, abr/],
    [{ name: 'x', auto_record: true }, /"auto_record" is a Gcore stream field this server does not implement/],
    [{ name: 'x', quality_set_id: 3 }, /"quality_set_id" is a Gcore stream field/],
    [{ name: 'x', srt_passphrase: 'abcdefghijkl' }, /"srt_passphrase"/],
    [{ name: 'x', colour: 'red' }, /body: "colour" is not a field this API takes/],
    [{ name: 'nul\u0000name' }, /name must not contain control characters/],
    [{ name: 'line\nbreak' }, /name must not contain control characters/],
    [{ name: 'c1\u0085' }, /name must not contain control characters/],
    [{ name: 'del\u007f' }, /name must not contain control characters/],
  ])('POST %j: 400 naming the problem, nothing stored', async (body, message) => {
    const before = await h.snapshot();
    const res = await h.api('POST', '/streaming/streams', body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(message) });
    expect(await h.snapshot()).toEqual(before);
  });

  it('a name in any script, with spaces and punctuation, is taken', async () => {
    expect((await h.createStream({ name: 'Сцена 1 — 東京 "live" 🎥' })).name).toBe('Сцена 1 — 東京 "live" 🎥');
  });

  it('PATCH takes pull: true only with a uri, from the body or already stored', async () => {
    const stream = await h.createStream({ name: 'Later pulled' });
    const refused = await h.api('PATCH', `/streaming/streams/${stream.id}`, { pull: true });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(/pull: true needs a uri/);
    await h.api('PATCH', `/streaming/streams/${stream.id}`, { uri: 'https://origin.example/a.m3u8' });
    expect((await h.api('PATCH', `/streaming/streams/${stream.id}`, { pull: true })).json().pull).toBe(true);
  });
});

describe('PATCH body shapes', () => {
  it('takes the fields flat or wrapped as {"stream": {...}} (Gcore SDK)', async () => {
    const stream = await h.createStream({ name: 'Shapes' });
    const wrapped = await h.api('PATCH', `/streaming/streams/${stream.id}`, { stream: { name: 'Wrapped', dvr_duration: 600 } });
    expect(wrapped.statusCode).toBe(200);
    expect(wrapped.json()).toMatchObject({ name: 'Wrapped', dvr_duration: 600 });
    const flat = await h.api('PATCH', `/streaming/streams/${stream.id}`, { name: 'Flat' });
    expect(flat.json()).toMatchObject({ name: 'Flat', dvr_duration: 600 });
  });

  it('a wrapped body is validated like a flat one', async () => {
    const stream = await h.createStream({ name: 'Wrapped checks' });
    const bad = await h.api('PATCH', `/streaming/streams/${stream.id}`, { stream: { name: 'x', auto_record: true } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/"auto_record"/);
    for (const empty of [{}, { stream: {} }]) {
      const nothing = await h.api('PATCH', `/streaming/streams/${stream.id}`, empty);
      expect(nothing.statusCode).toBe(400);
      expect(nothing.json().message).toMatch(/must name at least one field to change/);
    }
    const notObject = await h.api('PATCH', `/streaming/streams/${stream.id}`, { stream: 'x' });
    expect(notObject.statusCode).toBe(400);
    expect(notObject.json().message).toMatch(/"stream"/);
  });
});

describe('active: false', () => {
  it('refuses HLS push with 403 before reading the body, stores nothing, and takes pushes again once active', async () => {
    const stream = await h.createStream({ name: 'Inactive', active: false });
    const before = await h.snapshot();
    for (const [file, body] of [[ladder()[0][0].file, fixtureChunkBytes(0, 0)], ['stream_0.m3u8', livePlaylist(0, 0)]] as const) {
      const res = await h.push(stream, file, body);
      expect(res.statusCode, file).toBe(403);
      expect(res.json().message).toMatch(/not active/);
    }
    expect(await h.snapshot()).toEqual(before);
    // An encoder's DELETE is ignored either way.
    expect((await h.push(stream, 'x.ts', '', 'DELETE')).statusCode).toBe(204);

    await h.api('PATCH', `/streaming/streams/${stream.id}`, { active: true });
    expect((await h.push(stream, ladder()[0][0].file, fixtureChunkBytes(0, 0))).statusCode).toBe(204);
    expect((await h.push(stream, 'stream_0.m3u8', livePlaylist(0, 0))).statusCode).toBe(204);
  });

  it('a stream switched off keeps its DVR: clips of what it holds can still be made', async () => {
    const stream = await h.createStream({ name: 'Switched off' });
    const { end } = await h.pushLadder(stream, { from: 0, to: 5 });
    await h.api('PATCH', `/streaming/streams/${stream.id}`, { active: false });
    expect((await h.push(stream, ladder()[0][6].file, fixtureChunkBytes(0, 6))).statusCode).toBe(403);
    const clip = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, {
      start: Math.floor(end / 1000) - 4, duration: 3,
    });
    expect(clip.statusCode).toBe(200);
  });
});
