// Tenancy and authentication (SPEC 2): API keys, and one company never sees
// another's streams or clips.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, type Company, type Harness } from '../helpers/harness.js';

let h: Harness;
let other: Company;
let stream: StreamView;
let clipId: string;

beforeAll(async () => {
  h = await startHarness();
  other = await h.newCompany();
  stream = await h.createStream({ name: 'Mine', dvr_duration: 300 });
  const pushed = await h.pushLadder(stream, { from: 0, to: 3 });
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: pushed.start / 1000, duration: 2 });
  expect(res.statusCode).toBe(200);
  clipId = res.json().id;
});
afterAll(async () => {
  await h?.close();
});

describe('API keys', () => {
  it('401 without an Authorization header, naming the expected form', async () => {
    const res = await h.api('GET', '/streaming/streams', undefined, null);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ statusCode: 401, message: expect.stringMatching(/apikey/) });
  });

  it('401 for an unknown key or another scheme', async () => {
    expect((await h.api('GET', '/streaming/streams', undefined, `${h.company.api_key}x`)).statusCode).toBe(401);
    const bearer = await h.app.inject({ url: '/streaming/streams', headers: { authorization: `Bearer ${h.company.api_key}` } });
    expect(bearer.statusCode).toBe(401);
    const bare = await h.app.inject({ url: '/streaming/streams', headers: { authorization: h.company.api_key } });
    expect(bare.statusCode).toBe(401);
  });

  it('accepts the scheme word in any case', async () => {
    for (const scheme of ['apikey', 'APIKey', 'APIKEY']) {
      const res = await h.app.inject({ url: '/streaming/streams', headers: { authorization: `${scheme} ${h.company.api_key}` } });
      expect(res.statusCode, scheme).toBe(200);
      expect(res.json().map((s: StreamView) => s.id)).toEqual([stream.id]);
    }
  });

  it('guards every management route, clips included, before looking at the body', async () => {
    const calls: [string, string][] = [
      ['POST', '/streaming/streams'],
      ['GET', `/streaming/streams/${stream.id}`],
      ['PATCH', `/streaming/streams/${stream.id}`],
      ['DELETE', `/streaming/streams/${stream.id}`],
      ['PUT', `/streaming/streams/${stream.id}/dvr_cleanup`],
      ['PUT', `/streaming/streams/${stream.id}/clip_recording`],
      ['GET', `/streaming/streams/${stream.id}/clip_recording`],
      ['GET', `/streaming/streams/${stream.id}/clip_recording/${clipId}`],
      ['DELETE', `/streaming/streams/${stream.id}/clip_recording/${clipId}`],
    ];
    for (const [method, url] of calls) {
      expect((await h.api(method, url, { name: 'x', duration: 1 }, 'wrong')).statusCode, `${method} ${url}`).toBe(401);
    }
    // Nothing above went through: the stream and clip are intact.
    expect((await h.api('GET', `/streaming/streams/${stream.id}/clip_recording/${clipId}`)).statusCode).toBe(200);
  });
});

describe('another company', () => {
  it('sees none of the streams, as if they did not exist', async () => {
    const theirs = await h.api('GET', '/streaming/streams', undefined, other.api_key);
    expect(theirs.statusCode).toBe(200);
    expect(theirs.json()).toEqual([]);
    const missing = await h.api('GET', '/streaming/streams/999999', undefined, other.api_key);
    for (const [method, url, body] of [
      ['GET', `/streaming/streams/${stream.id}`, undefined],
      ['PATCH', `/streaming/streams/${stream.id}`, { name: 'stolen' }],
      ['DELETE', `/streaming/streams/${stream.id}`, undefined],
      ['PUT', `/streaming/streams/${stream.id}/dvr_cleanup`, undefined],
    ] as const) {
      const res = await h.api(method, url, body, other.api_key);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().message).toBe(missing.json().message.replace('999999', String(stream.id)));
    }
    const mine = (await h.api('GET', `/streaming/streams/${stream.id}`)).json();
    expect(mine.name).toBe('Mine');
    expect(mine.dvr_range).not.toBeNull();
  });

  it('cannot list, read, cut or delete the clips', async () => {
    const base = `/streaming/streams/${stream.id}/clip_recording`;
    expect((await h.api('GET', base, undefined, other.api_key)).statusCode).toBe(404);
    expect((await h.api('GET', `${base}/${clipId}`, undefined, other.api_key)).statusCode).toBe(404);
    expect((await h.api('DELETE', `${base}/${clipId}`, undefined, other.api_key)).statusCode).toBe(404);
    expect((await h.api('PUT', base, { duration: 2 }, other.api_key)).statusCode).toBe(404);
    const list = (await h.api('GET', base)).json();
    expect(list.map((c: { id: string }) => c.id)).toEqual([clipId]);
  });

  it('its own streams get their own ids and stay apart', async () => {
    const theirs = await h.createStream({ name: 'Theirs' }, other.api_key);
    expect(theirs.client_id).toBe(other.client_id);
    expect(theirs.id).not.toBe(stream.id);
    expect((await h.api('GET', `/streaming/streams/${theirs.id}`)).statusCode).toBe(404);
    expect((await h.api('GET', '/streaming/streams')).json().map((s: StreamView) => s.id)).toEqual([stream.id]);
  });

  it('cannot reach the playback URLs under another client id', async () => {
    const clip = (await h.api('GET', `/streaming/streams/${stream.id}/clip_recording/${clipId}`)).json();
    expect((await h.get(clip.hls_master)).statusCode).toBe(200);
    const forged = clip.hls_master.replace(`/rec/${h.company.client_id}_`, `/rec/${other.client_id}_`);
    expect((await h.get(forged)).statusCode).toBe(404);
    expect((await h.get(stream.hls_url)).statusCode).toBe(200);
    expect((await h.get(stream.hls_url.replace(`/live/${h.company.client_id}_`, `/live/${other.client_id}_`))).statusCode).toBe(404);
  });
});
