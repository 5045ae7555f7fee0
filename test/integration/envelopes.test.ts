// Answers made before a route's own handler runs, in each API family's
// envelope: undecodable paths (%ZZ), over-long path segments, OPTIONS that is
// not a CORS preflight, unknown paths; and calls without a body sent with
// `Content-Type: application/json` (as Gcore's SDK and the README's curl do).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_FOUND } from '../../src/routes/vod-envelopes.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { loginAs } from '../helpers/vod-access.js';

let h: Harness;
let token: string;

beforeAll(async () => {
  h = await startHarness();
  token = (await loginAs(h, h.company.client_id)).token;
});
afterAll(async () => {
  await h?.close();
});

const VID = 'vid-AAAAAAAAAAAAAAAAAAAAAAAA';
const auth = () => ({ authorization: `apikey ${h.company.api_key}` });

describe('a path with a bad percent-encoding', () => {
  it.each([
    ['POST', `/api/um-get-hls-segment/%ZZ/1`, 403, { message: expect.stringMatching(/no rights/), result: [], status: 403 }],
    ['POST', `/api/um-get-hls-segment/${VID}/%ZZ`, 404, { message: 'Segment not found', result: [], status: 404 }],
    ['POST', `/api/um-get-hls-segment/${'a'.repeat(120)}/1`, 403, { result: [], status: 403 }],
    ['GET', '/api/v3/records/%ZZ', 401, { error: { code: 401, message: 'No API key provided' } }],
    ['GET', '/api/v3/records/%ZZ?access_token=TOKEN', 404, NOT_FOUND],
    ['GET', `/api/v3/records/download/1/%E0%A4%A?access_token=TOKEN`, 404, NOT_FOUND],
    ['GET', `/distribution/%ZZ/${VID}.mp4`, 401, { error: { code: 401, message: 'No API key provided' } }],
    ['GET', `/distribution/1/%ZZ.mp4?access_token=TOKEN`, 404, NOT_FOUND],
    ['GET', '/streaming/streams/%ZZ', 400, { statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/percent-encoding/) }],
    ['GET', `/streaming/streams/${'9'.repeat(120)}`, 414, { statusCode: 414, message: expect.stringMatching(/over 100 characters/) }],
    ['GET', '/rec/%ZZ/x.m3u8', 404, { message: expect.stringMatching(/^Not found/) }],
    ['GET', '/vod/1/%ZZ/master.m3u8', 404, { message: expect.stringMatching(/^Not found/) }],
  ])('%s %s: %i in the family envelope', async (method, url, status, body) => {
    const res = await h.app.inject({
      method: method as 'GET', url: url.replace('TOKEN', token),
      ...(method === 'POST' ? { payload: { user_token: token } } : {}),
    });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toMatchObject(body);
    expect(res.json()).not.toHaveProperty('code');
  });
});

describe('paths no route of the family has', () => {
  it.each([
    ['GET', `/api/um-get-hls-segment/${VID}/1`, 404, { message: 'Segment not found', result: [], status: 404 }],
    ['POST', '/api/v3/records/1?access_token=TOKEN', 404, NOT_FOUND],
    ['DELETE', '/api/v3/records/1', 401, { error: { code: 401, message: 'No API key provided' } }],
    ['GET', '/api/v3/records/1/?access_token=TOKEN', 404, NOT_FOUND],
    ['DELETE', `/distribution/1/${VID}.mp4?access_token=TOKEN`, 404, NOT_FOUND],
    ['GET', '/streaming/nothing', 404, { statusCode: 404, error: 'Not Found' }],
  ])('%s %s: %i in the family envelope', async (method, url, status, body) => {
    const res = await h.app.inject({ method: method as 'GET', url: url.replace('TOKEN', token) });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject(body);
  });
});

describe('OPTIONS', () => {
  it('that is not a CORS preflight answers 204 with what the path allows', async () => {
    const streams = await h.app.inject({ method: 'OPTIONS', url: '/streaming/streams' });
    expect(streams.statusCode).toBe(204);
    expect(streams.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    const one = await h.app.inject({ method: 'OPTIONS', url: '/streaming/streams/5' });
    expect(one.headers.allow).toBe('GET, HEAD, PATCH, DELETE, OPTIONS');
    const clips = await h.app.inject({ method: 'OPTIONS', url: '/streaming/streams/5/clip_recording', headers: { origin: 'https://a.example' } });
    expect(clips.statusCode).toBe(204);
    expect(clips.headers.allow).toBe('GET, HEAD, POST, PUT, OPTIONS');
  });

  it('on a path nothing serves is the family 404', async () => {
    const res = await h.app.inject({ method: 'OPTIONS', url: '/streaming/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('a CORS preflight of a playback URL is still answered by the CORS rules', async () => {
    const res = await h.app.inject({
      method: 'OPTIONS', url: '/rec/1_1/rec_aaaaaaaaaaaaaaaa_master.m3u8',
      headers: { origin: 'https://player.example', 'access-control-request-method': 'GET' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('calls without a body, with or without Content-Type: application/json', () => {
  it.each([true, false])('DELETE stream, PUT dvr_cleanup, DELETE clip, DELETE video (content type: %s)', async (withType) => {
    const headers = { ...auth(), ...(withType ? { 'content-type': 'application/json' } : {}) };
    const stream = await h.createStream({ name: 'Bodiless' });
    const { end } = await h.pushLadder(stream, { from: 0, to: 4 });
    const clip = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: Math.floor(end / 1000) - 3, duration: 2 });
    expect(clip.statusCode).toBe(200);
    const send = (method: string, url: string) => h.app.inject({ method: method as 'GET', url, headers });
    expect((await send('PUT', `/streaming/streams/${stream.id}/dvr_cleanup`)).statusCode).toBe(204);
    expect((await send('DELETE', `/streaming/streams/${stream.id}/clip_recording/${clip.json().id}`)).statusCode).toBe(204);
    expect((await send('DELETE', `/streaming/streams/${stream.id}`)).statusCode).toBe(204);
    const video = await send('DELETE', '/streaming/videos/987654');
    expect(video.statusCode).toBe(404);
    expect(video.json().message).toMatch(/video 987654 not found/);
  });

  it('a route that needs a body still says so', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/streaming/streams', headers: { ...auth(), 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/body/);
  });

  it('JSON is still parsed safely: prototype keys are refused', async () => {
    const res = await h.app.inject({
      method: 'POST', url: '/streaming/streams', headers: { ...auth(), 'content-type': 'application/json' },
      payload: '{"name": "x", "__proto__": {"admin": true}}',
    });
    expect(res.statusCode).toBe(400);
  });
});
