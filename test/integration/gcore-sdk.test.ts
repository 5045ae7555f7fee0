// The official Gcore Python SDK (gcore-python 0.53) against this server, its
// requests rebuilt byte for byte over real HTTP from the SDK's source:
// - headers (src/gcore/_base_client.py default_headers, _build_headers):
//   Accept and Content-Type application/json on every call but GET (which
//   drops Content-Type), User-Agent "Gcore/Python 0.53.0", the X-Stainless-*
//   platform headers, x-stainless-retry-count and -read-timeout, and
//   `Authorization: APIKey KEY` (_client.py auth_headers);
// - bodies (_utils/_json.py openapi_dumps): compact JSON, non-ASCII as UTF-8,
//   only the arguments the caller set, in the order of the method's dict; no
//   body for DELETE and for PUT …/dvr_cleanup, where httpx sends
//   Content-Length: 0 on PUT and nothing on DELETE;
// - the calls (resources/streaming/streams/streams.py, streams/clips.py,
//   videos/videos.py): streams.create/get/list/update({"stream": …})/
//   clear_dvr/delete, clips.create (PUT)/list, videos.list/get/delete
//   (DELETE adds Accept: */*). The SDK has no clip get or delete: those are
//   sent as client.get()/client.delete() would, with the same headers.
// Responses are checked the way the SDK's strict response validation reads
// them (types/streaming/stream.py, streams/clip.py, video.py, pagination.py
// SyncPageStreaming: a plain array is the page's items).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVideo } from '../../src/vod/records.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';

let h: Harness;
let port: number;

beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await h?.close();
});

interface SdkCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** Already in the SDK's order; undefined values are left out, as the SDK leaves out omitted arguments. */
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  extraHeaders?: Record<string, string>;
}

interface SdkResponse {
  status: number;
  body: unknown;
  text: string;
}

/** One request exactly as gcore-python 0.53 on CPython 3.11 (httpx) sends it. */
function sdk(call: SdkCall): Promise<SdkResponse> {
  const headers: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    'Accept-Encoding': 'gzip, deflate',
    Connection: 'keep-alive',
    Accept: 'application/json',
    'Content-Type': 'application/json',
    'User-Agent': 'Gcore/Python 0.53.0',
    'X-Stainless-Lang': 'python',
    'X-Stainless-Package-Version': '0.53.0',
    'X-Stainless-OS': 'Linux',
    'X-Stainless-Arch': 'x64',
    'X-Stainless-Runtime': 'CPython',
    'X-Stainless-Runtime-Version': '3.11.7',
    Authorization: `APIKey ${h.company.api_key}`,
    'x-stainless-retry-count': '0',
    'x-stainless-read-timeout': '120.0',
    ...call.extraHeaders,
  };
  let body: Buffer | undefined;
  if (call.method === 'GET') delete headers['Content-Type'];
  else if (call.json !== undefined) body = Buffer.from(JSON.stringify(call.json), 'utf8');
  if (body) headers['Content-Length'] = String(body.length);
  else if (call.method === 'POST' || call.method === 'PUT' || call.method === 'PATCH') headers['Content-Length'] = '0';
  const query = Object.entries(call.query ?? {}).filter(([, v]) => v !== undefined);
  const search = query.length ? `?${new URLSearchParams(query.map(([k, v]) => [k, String(v)]))}` : '';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: call.method, path: call.path + search, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (p: Buffer) => parts.push(p));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let parsed: unknown = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = text;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ------------------------------------------------ the SDK's models, as its strict validation reads them

type FieldType = 'str' | 'int' | 'float' | 'bool' | 'list[str]' | 'list[int]' | readonly string[];

function checkField(value: unknown, type: FieldType): boolean {
  if (Array.isArray(type)) return type.includes(value as string);
  switch (type) {
    case 'str': return typeof value === 'string';
    case 'int': return Number.isInteger(value);
    case 'float': return typeof value === 'number';
    case 'bool': return typeof value === 'boolean';
    case 'list[str]': return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'list[int]': return Array.isArray(value) && value.every((v) => Number.isInteger(v));
    default: return false;
  }
}

/** What pydantic would refuse: a required field missing or null, a field of the wrong type or value. */
function modelProblems(value: unknown, required: Record<string, FieldType>, optional: Record<string, FieldType>): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return ['not an object'];
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const [name, type] of Object.entries(required)) {
    if (!checkField(v[name], type)) problems.push(`${name}: ${JSON.stringify(v[name])} is not ${String(type)}`);
  }
  for (const [name, type] of Object.entries(optional)) {
    if (v[name] !== undefined && v[name] !== null && !checkField(v[name], type)) problems.push(`${name}: ${JSON.stringify(v[name])} is not ${String(type)}`);
  }
  return problems;
}

const STREAM_MODEL = {
  required: { name: 'str' },
  optional: {
    id: 'int', active: 'bool', auto_record: 'bool', backup_live: 'bool', backup_push_url: 'str', backup_push_url_srt: 'str',
    broadcast_ids: 'list[int]', cdn_id: 'int', client_entity_data: 'str', client_user_id: 'int', created_at: 'str', dash_url: 'str',
    dvr_duration: 'int', dvr_enabled: 'bool', finished_at_primary: 'str', frame_rate: 'float', hls_cmaf_url: 'str',
    hls_mpegts_endlist_tag: 'bool', hls_mpegts_url: 'str', html_overlay: 'bool', iframe_url: 'str', live: 'bool',
    projection: ['regular', 'vr360', 'vr180', 'vr360tb'], pull: 'bool', push_url: 'str', push_url_srt: 'str', push_url_whip: 'str',
    quality_set_id: 'int', record_type: ['origin', 'transcoded'], recording_duration: 'float', screenshot: 'str',
    srt_passphrase: 'str', started_at_backup: 'str', started_at_primary: 'str', stream_source_type: ['rtmp', 'srt', 'webrtc', 'https'],
    transcoded_qualities: 'list[str]', transcoding_speed: 'float', uri: 'str', video_height: 'float', video_width: 'float',
  },
} as const;

const CLIP_MODEL = {
  required: { id: 'str', duration: 'int' },
  optional: {
    created_at: 'str', expiration: 'int', hls_master: 'str', renditions: 'list[str]', start: 'int', video_id: 'int', vod_required: 'bool',
  },
} as const;

const VIDEO_MODEL = {
  required: {},
  optional: {
    id: 'int', ad_id: 'int', cdn_views: 'int', client_id: 'int', client_user_id: 'int', created_at: 'str', custom_iframe_url: 'str',
    dash_url: 'str', description: 'str', directory_id: 'int', duration: 'int', error: 'str', hls_cmaf_url: 'str', hls_url: 'str',
    iframe_url: 'str', name: 'str', origin_size: 'int', origin_url: 'str', origin_video_duration: 'int', poster: 'str',
    poster_thumb: 'str', priority: 'int', projection: 'str', quality_set_id: 'int', record_type: ['origin', 'transcoded'],
    recording_started_at: 'str', screenshot: 'str', screenshot_id: 'int', screenshots: 'list[str]', share_url: 'str', slug: 'str',
    sprite: 'str', sprite_vtt: 'str', status: ['empty', 'pending', 'viewable', 'ready', 'error'], stream_id: 'int', updated_at: 'str',
    views: 'int',
  },
} as const;

type Model = { required: Record<string, FieldType>; optional: Record<string, FieldType> };

function expectModel(value: unknown, model: Model): void {
  expect(modelProblems(value, model.required, model.optional)).toEqual([]);
}

/** SyncPageStreaming.build: a list is the page's items; a mapping must carry `items`. */
function pageItems(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  const items = (body as { items?: unknown }).items;
  if (!Array.isArray(items)) throw new Error(`not a page: ${JSON.stringify(body).slice(0, 200)}`);
  return items;
}

// ------------------------------------------------ the calls

describe('gcore-python 0.53 against this server', () => {
  it('streams, clips and videos: every call succeeds and every answer parses', async () => {
    // client.streaming.streams.create(name=…, active=True, dvr_duration=600)
    const created = await sdk({ method: 'POST', path: '/streaming/streams', json: { name: 'SDK stream — 東京', active: true, dvr_duration: 600 } });
    expect(created.status, created.text).toBe(201);
    expectModel(created.body, STREAM_MODEL);
    const stream = created.body as { id: number; name: string; push_url_hls: string; dvr_duration: number };
    expect(stream).toMatchObject({ name: 'SDK stream — 東京', dvr_duration: 600, active: true });

    // .get(stream_id)
    const got = await sdk({ method: 'GET', path: `/streaming/streams/${stream.id}` });
    expect(got.status).toBe(200);
    expectModel(got.body, STREAM_MODEL);

    // .list(), .list(page=1), .list(page=1, with_broadcasts=1)
    for (const query of [undefined, { page: 1 }, { page: 1, with_broadcasts: 1 }]) {
      const listed = await sdk({ method: 'GET', path: '/streaming/streams', query });
      expect(listed.status, listed.text).toBe(200);
      const items = pageItems(listed.body);
      expect(items.map((s) => (s as { id: number }).id)).toContain(stream.id);
      for (const item of items) expectModel(item, STREAM_MODEL);
    }

    // .update(stream_id, stream={"name": …, "dvr_duration": 900}): the SDK wraps the fields
    const updated = await sdk({ method: 'PATCH', path: `/streaming/streams/${stream.id}`, json: { stream: { name: 'SDK renamed', dvr_duration: 900 } } });
    expect(updated.status, updated.text).toBe(200);
    expectModel(updated.body, STREAM_MODEL);
    expect(updated.body).toMatchObject({ name: 'SDK renamed', dvr_duration: 900 });

    // A field Gcore has and this server does not: refused by name, nothing made.
    const refused = await sdk({ method: 'POST', path: '/streaming/streams', json: { name: 'x', auto_record: true } });
    expect(refused.status).toBe(400);
    expect((refused.body as { message: string }).message).toMatch(/"auto_record"/);

    // Media in, as an encoder pushes it to push_url_hls.
    const view = await h.api('GET', `/streaming/streams/${stream.id}`);
    h.clock.set(Date.now() - 60_000);
    const { start } = await h.pushLadder(view.json(), { from: 0, to: 11 });

    // client.streaming.streams.clips.create(stream_id, duration=4, start=…, vod_required=True)
    const clipStart = Math.floor(start / 1000) + 2;
    const clip = await sdk({ method: 'PUT', path: `/streaming/streams/${stream.id}/clip_recording`, json: { duration: 4, start: clipStart, vod_required: true } });
    expect(clip.status, clip.text).toBe(200);
    expectModel(clip.body, CLIP_MODEL);
    const clipId = (clip.body as { id: string }).id;
    const videoId = (clip.body as { video_id: number }).video_id;
    expect(Number.isInteger(videoId)).toBe(true);
    // And one without a VOD, with an expiration.
    const plain = await sdk({
      method: 'PUT', path: `/streaming/streams/${stream.id}/clip_recording`,
      json: { duration: 3, expiration: clipStart + 7200, start: clipStart + 1 },
    });
    expect(plain.status, plain.text).toBe(200);
    expectModel(plain.body, CLIP_MODEL);
    expect((plain.body as { video_id: unknown }).video_id).toBeNull();

    // .clips.list(stream_id): a List[Clip]
    const clips = await sdk({ method: 'GET', path: `/streaming/streams/${stream.id}/clip_recording` });
    expect(clips.status).toBe(200);
    expect(Array.isArray(clips.body)).toBe(true);
    for (const item of clips.body as unknown[]) expectModel(item, CLIP_MODEL);
    expect((clips.body as { id: string }[]).map((c) => c.id)).toEqual(expect.arrayContaining([clipId]));

    // client.get(…) / client.delete(…) for one clip
    const oneClip = await sdk({ method: 'GET', path: `/streaming/streams/${stream.id}/clip_recording/${(plain.body as { id: string }).id}` });
    expect(oneClip.status).toBe(200);
    expectModel(oneClip.body, CLIP_MODEL);
    const clipGone = await sdk({ method: 'DELETE', path: `/streaming/streams/${stream.id}/clip_recording/${(plain.body as { id: string }).id}` });
    expect(clipGone.status, clipGone.text).toBe(204);

    // client.streaming.videos.list(stream_id=…, page=1, per_page=10) while the VOD is pending or ready
    const early = await sdk({ method: 'GET', path: '/streaming/videos', query: { page: 1, per_page: 10, stream_id: stream.id } });
    expect(early.status, early.text).toBe(200);
    const earlyItems = pageItems(early.body);
    expect(earlyItems.map((v) => (v as { id: number }).id)).toEqual([videoId]);
    for (const item of earlyItems) expectModel(item, VIDEO_MODEL);

    await waitFor(async () => (await loadVideo(h.ctx, videoId))?.status === 'ready', 'the VOD', 60_000, 100);
    const video = await sdk({ method: 'GET', path: `/streaming/videos/${videoId}` });
    expect(video.status).toBe(200);
    expectModel(video.body, VIDEO_MODEL);
    expect(video.body).toMatchObject({ id: videoId, status: 'ready', stream_id: stream.id });
    const otherStream = await sdk({ method: 'GET', path: '/streaming/videos', query: { stream_id: stream.id + 1000 } });
    expect(pageItems(otherStream.body)).toEqual([]);
    const all = await sdk({ method: 'GET', path: '/streaming/videos' });
    for (const item of pageItems(all.body)) expectModel(item, VIDEO_MODEL);

    // .clear_dvr(stream_id): PUT, no body, Content-Length: 0
    const cleared = await sdk({ method: 'PUT', path: `/streaming/streams/${stream.id}/dvr_cleanup` });
    expect(cleared.status, cleared.text).toBe(204);

    // videos.delete(video_id): DELETE, no body, Accept: */*
    const videoGone = await sdk({ method: 'DELETE', path: `/streaming/videos/${videoId}`, extraHeaders: { Accept: '*/*' } });
    expect(videoGone.status, videoGone.text).toBe(204);
    expect((await sdk({ method: 'GET', path: `/streaming/videos/${videoId}` })).status).toBe(404);

    // streams.delete(stream_id): DELETE, no body, no Content-Length
    const streamGone = await sdk({ method: 'DELETE', path: `/streaming/streams/${stream.id}` });
    expect(streamGone.status, streamGone.text).toBe(204);
    expect((await sdk({ method: 'GET', path: `/streaming/streams/${stream.id}` })).status).toBe(404);
  }, 120_000);
});
