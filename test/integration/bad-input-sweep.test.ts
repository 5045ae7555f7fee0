// Bad input across every route family (SPEC 10): a few hundred requests with
// wrong types, huge and negative numbers, unicode, path traversal, bad
// percent-encodings, over-long segments, missing and broken bodies. Each
// answers a 4xx in its family's envelope, never a 500, and writes nothing.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { loginAs } from '../helpers/vod-access.js';

let h: Harness;
let stream: StreamView;
let token: string;

beforeAll(async () => {
  h = await startHarness();
  stream = await h.createStream({ name: 'Swept' });
  token = (await loginAs(h, h.company.client_id)).token;
});
afterAll(async () => {
  await h?.close();
});

const BAD_IDS = [
  '0', '-1', '01', '1.5', '1e3', '0x10', '99999999999999999999', 'abc', '%ZZ', '%E0%A4%A', '%00', '%0A', '..', '%2e%2e',
  '..%2F..%2Fetc%2Fpasswd', '%2F', 'é', '%F0%9F%8E%A5', '🎥', 'a'.repeat(150), '%20', 'null', 'true', '[]',
];
const BAD_BODIES: unknown[] = [
  'not json', '[]', '"text"', '123', 'null', '{"duration": "5"}', '{"duration": -1}', '{"duration": 1e308}',
  '{"duration": 18446744073709551616}', '{"duration": 5, "start": -5}', '{"duration": 5, "extra": 1}', '{"a":'.repeat(50),
  '{"name": "\\u0000"}', '{"name": ["x"]}', '{"name": "x", "dvr_duration": 1e400}', '{"__proto__": {"x": 1}}',
  '{"constructor": {"prototype": {}}}', '{"stream": {"name": 5}}',
];

interface Probe {
  method: string;
  url: string;
  body?: string;
  auth?: boolean;
  contentType?: string;
}

function probes(): Probe[] {
  const out: Probe[] = [];
  const s = stream.id;
  for (const id of BAD_IDS) {
    for (const method of ['GET', 'PATCH', 'DELETE']) out.push({ method, url: `/streaming/streams/${id}`, auth: true });
    out.push({ method: 'PUT', url: `/streaming/streams/${id}/dvr_cleanup`, auth: true });
    out.push({ method: 'GET', url: `/streaming/streams/${id}/clip_recording`, auth: true });
    out.push({ method: 'GET', url: `/streaming/streams/${s}/clip_recording/${id}`, auth: true });
    out.push({ method: 'DELETE', url: `/streaming/streams/${s}/clip_recording/${id}`, auth: true });
    out.push({ method: 'GET', url: `/streaming/videos/${id}`, auth: true });
    out.push({ method: 'DELETE', url: `/streaming/videos/${id}`, auth: true });
    out.push({ method: 'GET', url: `/streaming/videos?page=${id}`, auth: true });
    out.push({ method: 'GET', url: `/streaming/videos?stream_id=${id}`, auth: true });
    out.push({ method: 'GET', url: `/streaming/streams?page=${id}`, auth: true });
    out.push({ method: 'POST', url: `/api/um-get-hls-segment/${id}/1`, body: JSON.stringify({ user_token: token }) });
    out.push({ method: 'POST', url: `/api/um-get-hls-segment/vid-AAAAAAAAAAAAAAAAAAAAAAAA/${id}`, body: JSON.stringify({ user_token: token }) });
    out.push({ method: 'GET', url: `/api/v3/records/${id}?access_token=${token}` });
    out.push({ method: 'GET', url: `/api/v3/records/${id}` });
    out.push({ method: 'GET', url: `/api/v3/records/download/${id}/vid-AAAAAAAAAAAAAAAAAAAAAAAA?access_token=${token}` });
    out.push({ method: 'GET', url: `/distribution/${id}/vid-AAAAAAAAAAAAAAAAAAAAAAAA.mp4?access_token=${token}` });
    out.push({ method: 'GET', url: `/distribution/1/${id}?access_token=x` });
    out.push({ method: 'GET', url: `/rec/${id}/rec_aaaaaaaaaaaaaaaa_master.m3u8` });
    out.push({ method: 'GET', url: `/live/${id}/AAAAAAAAAAAAAAAA/master.m3u8` });
    out.push({ method: 'GET', url: `/vod/${id}/AAAAAAAAAAAAAAAAAAAAAAAA/master.m3u8` });
    out.push({ method: 'PUT', url: `/ingest/${id}/stream_0.m3u8`, body: '#EXTM3U' });
    out.push({ method: 'OPTIONS', url: `/streaming/streams/${id}` });
  }
  for (const body of BAD_BODIES as string[]) {
    out.push({ method: 'POST', url: '/streaming/streams', body, auth: true });
    out.push({ method: 'PATCH', url: `/streaming/streams/${s}`, body, auth: true });
    out.push({ method: 'PUT', url: `/streaming/streams/${s}/clip_recording`, body, auth: true });
    out.push({ method: 'POST', url: '/api/v3/authenticate', body });
    out.push({ method: 'POST', url: '/api/um-get-hls-segment/vid-AAAAAAAAAAAAAAAAAAAAAAAA/1', body });
  }
  // Missing bodies, and bodies of the wrong content type.
  for (const contentType of [undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
    out.push({ method: 'POST', url: '/streaming/streams', auth: true, contentType });
    out.push({ method: 'PUT', url: `/streaming/streams/${s}/clip_recording`, auth: true, contentType });
    out.push({ method: 'POST', url: '/api/v3/authenticate', contentType });
    out.push({ method: 'POST', url: '/api/um-get-hls-segment/vid-AAAAAAAAAAAAAAAAAAAAAAAA/1', contentType });
  }
  // Query strings of the wrong shape.
  for (const query of ['page=0', 'per_page=100000', 'page=1&page=2', 'stream_id=-3', 'unknown=1', 'page=%ZZ']) {
    out.push({ method: 'GET', url: `/streaming/videos?${query}`, auth: true });
  }
  for (const query of ['access_token=', 'access_token=%ZZ', 'access_token=a&access_token=b', `access_token=${token}&filename=${'x'.repeat(2000)}`]) {
    out.push({ method: 'GET', url: `/api/v3/records/1?${query}` });
    out.push({ method: 'GET', url: `/distribution/1/vid-AAAAAAAAAAAAAAAAAAAAAAAA.mp4?${query}` });
  }
  // Methods a family does not have, and OPTIONS that is not a preflight.
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    out.push({ method, url: `/api/v3/records/1?access_token=${token}` });
    out.push({ method, url: '/streaming/videos/1', auth: true });
  }
  out.push({ method: 'OPTIONS', url: '/streaming/streams' });
  out.push({ method: 'OPTIONS', url: `/streaming/streams/${s}/clip_recording` });
  return out;
}

type Family = 'management' | 'segment' | 'records' | 'playback';

function familyOf(url: string): Family {
  if (url.startsWith('/api/um-get-hls-segment/')) return 'segment';
  if (url.startsWith('/api/v3/') || url.startsWith('/distribution/')) return 'records';
  if (url.startsWith('/rec/') || url.startsWith('/live/') || url.startsWith('/vod/')) return 'playback';
  return 'management';
}

/** Why the answer is not a 4xx in its family's envelope, or null. */
function problem(url: string, res: LightMyRequestResponse): string | null {
  if (res.statusCode === 204 && res.body === '') return null; // OPTIONS answered with Allow
  if (res.statusCode < 400 || res.statusCode >= 500) return `status ${res.statusCode}`;
  let body: Record<string, unknown>;
  try {
    body = res.json();
  } catch {
    return `not JSON: ${res.body.slice(0, 80)}`;
  }
  const keys = Object.keys(body).sort().join(',');
  switch (familyOf(url)) {
    case 'segment':
      return keys === 'message,result,status' && body.status === res.statusCode && [401, 403, 404].includes(res.statusCode)
        ? null : `not seed 000's envelope: ${res.body}`;
    case 'records': {
      const error = body.error as { code?: unknown; message?: unknown } | undefined;
      if (keys === 'error' && error?.code === res.statusCode && typeof error.message === 'string') return null;
      if (keys === 'detail,status,title,type' && res.statusCode === 404) return null;
      return `not seed 003's envelope: ${res.body}`;
    }
    case 'playback':
      return keys === 'message' ? null : `not playback's envelope: ${res.body}`;
    default:
      return keys === 'error,message,statusCode' && body.statusCode === res.statusCode && String(body.message).length > 0
        ? null : `not the management envelope: ${res.body}`;
  }
}

describe('bad input sweep', () => {
  it('every bad request gets a 4xx in its family envelope and writes nothing', async () => {
    const all = probes();
    expect(all.length).toBeGreaterThan(400);
    const before = await h.snapshot();
    const failures: string[] = [];
    for (const p of all) {
      const headers: Record<string, string> = {};
      if (p.auth) headers.authorization = `apikey ${h.company.api_key}`;
      if (p.contentType) headers['content-type'] = p.contentType;
      else if (p.body !== undefined) headers['content-type'] = 'application/json';
      const res = await h.app.inject({ method: p.method as 'GET', url: p.url, headers, ...(p.body !== undefined ? { payload: p.body } : {}) });
      // Paths are normalized as clients send them ("/a/../b" is "/b"), so is the family.
      const why = problem(new URL(p.url, 'http://x').pathname, res);
      if (why) failures.push(`${p.method} ${p.url.slice(0, 120)} ${p.body?.slice(0, 40) ?? ''} -> ${why}`);
    }
    expect(failures).toEqual([]);
    // The login throttle counts failed logins (that is its job); nothing else may change.
    const after = await h.snapshot();
    for (const key of [...after.keys()].filter((k) => k.includes(':login'))) after.delete(key);
    for (const key of [...before.keys()].filter((k) => k.includes(':login'))) before.delete(key);
    expect(after).toEqual(before);
  }, 120_000);
});
