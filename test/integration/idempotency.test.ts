// Idempotency-Key on clip and stream creation (SPEC 5): a retry with the
// same key and body gets the first answer and makes nothing; another body
// is 422 naming the key; concurrent retries make one clip; keys are per
// company; a bad key is 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let stream: StreamView;
let start: number;

beforeAll(async () => {
  h = await startHarness();
  stream = await h.createStream({ name: 'Idempotent' });
  ({ start } = await h.pushLadder(stream, { from: 0, to: 7, startAt: h.clock.alignToSecond() }));
}, 90_000);
afterAll(async () => {
  await h?.close();
});

function clipRequest(key: string | null, body: Record<string, unknown>, method: 'PUT' | 'POST' = 'PUT', apiKey = h.company.api_key, streamId = stream.id) {
  return h.app.inject({
    method,
    url: `/streaming/streams/${streamId}/clip_recording`,
    headers: { authorization: `apikey ${apiKey}`, ...(key === null ? {} : { 'idempotency-key': key }) },
    payload: body,
  });
}

const clipCount = async () => (await h.api('GET', `/streaming/streams/${stream.id}/clip_recording`)).json().length;

describe('Idempotency-Key on clip creation', () => {
  it('a sequential retry with the same body gets the same clip (200) and makes nothing', async () => {
    const body = { start: start / 1000 + 1, duration: 2 };
    const first = await clipRequest('retry-1', body);
    expect(first.statusCode, first.body).toBe(200);
    const before = await clipCount();
    const snapshot = await h.snapshot();
    // The same body in another key order, and by POST (the same operation), is the same request.
    for (const [again, method] of [[{ duration: 2, start: start / 1000 + 1 }, 'POST'], [body, 'PUT']] as const) {
      const retry = await clipRequest('retry-1', again, method);
      expect(retry.statusCode).toBe(200);
      expect(retry.json()).toEqual(first.json());
    }
    expect(await clipCount()).toBe(before);
    expect(await h.snapshot()).toEqual(snapshot);
    // Without the key each request is new.
    const other = await clipRequest(null, body);
    expect(other.json().id).not.toBe(first.json().id);
  });

  it('the same key with another body is 422 naming the key, and makes nothing', async () => {
    const first = await clipRequest('change-me', { start: start / 1000 + 1, duration: 2 });
    expect(first.statusCode).toBe(200);
    const before = await clipCount();
    for (const [body, streamId] of [[{ start: start / 1000 + 1, duration: 3 }, stream.id], [{ start: start / 1000 + 1, duration: 2, vod_required: false }, stream.id]] as const) {
      const res = await clipRequest('change-me', body, 'PUT', h.company.api_key, streamId);
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity' });
      expect(res.json().message).toMatch(/Idempotency-Key "change-me" was already used with another request/);
    }
    expect(await clipCount()).toBe(before);
  });

  it('concurrent requests with one key make one clip, and all get it', async () => {
    const before = await clipCount();
    const body = { start: start / 1000 + 2, duration: 3 };
    const answers = await Promise.all(Array.from({ length: 8 }, () => clipRequest('together', body)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => a.json().id)).size).toBe(1);
    expect(await clipCount()).toBe(before + 1);
  });

  it('a refusal is the answer too: retried, it is refused the same way', async () => {
    const body = { start: start / 1000 - 600, duration: 2 }; // before the oldest chunk the DVR holds
    const first = await clipRequest('too-early', body);
    expect(first.statusCode).toBe(422);
    const again = await clipRequest('too-early', body);
    expect(again.statusCode).toBe(422);
    expect(again.json()).toEqual(first.json());
  });

  it('keys are per company: another company may use the same key for its own clip', async () => {
    const other = await h.newCompany('Idempotent neighbour');
    const theirStream = await h.createStream({ name: 'Theirs' }, other.api_key);
    await h.pushLadder(theirStream, { from: 0, to: 3, startAt: h.clock.alignToSecond() });
    const mine = await clipRequest('shared-key', { duration: 2, start: start / 1000 + 1 });
    const theirs = await clipRequest('shared-key', { duration: 2, start: Math.floor(h.clock.now() / 1000) - 3 }, 'PUT', other.api_key, theirStream.id);
    expect(mine.statusCode).toBe(200);
    expect(theirs.statusCode, theirs.body).toBe(200);
    expect(theirs.json().id).not.toBe(mine.json().id);
  });

  it('an empty key or one over 255 characters is 400, and makes nothing', async () => {
    const before = await clipCount();
    for (const key of ['', 'k'.repeat(256)]) {
      const res = await clipRequest(key, { start: start / 1000 + 1, duration: 2 });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/Idempotency-Key must be 1 to 255 characters/);
    }
    expect((await clipRequest('k'.repeat(255), { start: start / 1000 + 1, duration: 2 })).statusCode).toBe(200);
    expect(await clipCount()).toBe(before + 1);
  });
});

describe('Idempotency-Key on stream creation', () => {
  it('one stream however often, or however concurrently, the request is sent', async () => {
    const send = (key: string, body: Record<string, unknown>) => h.app.inject({
      method: 'POST', url: '/streaming/streams', payload: body,
      headers: { authorization: `apikey ${h.company.api_key}`, 'idempotency-key': key },
    });
    const count = async () => (await h.api('GET', '/streaming/streams')).json().length;
    const before = await count();
    const answers = await Promise.all(Array.from({ length: 5 }, () => send('stream-1', { name: 'Once' })));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(5).fill(201));
    expect(new Set(answers.map((a) => a.json().id)).size).toBe(1);
    expect((await send('stream-1', { name: 'Once' })).json().id).toBe(answers[0].json().id);
    expect((await send('stream-1', { name: 'Twice' })).statusCode).toBe(422);
    expect(await count()).toBe(before + 1);
  });
});
