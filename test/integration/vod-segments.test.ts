// SPEC 7.2 (seed 000): POST /api/um-get-hls-segment/{video_id}/{segment}
// against a real VOD promoted by the worker. Every error body is compared
// whole: clients parse them.
import { readFile, rename } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteUser } from '../../src/tenancy/users.js';
import { saveVideo, type VideoRecord } from '../../src/vod/records.js';
import type { Harness } from '../helpers/harness.js';
import { badUserTokens, decodes, loginAs, startTwoCompanies, vodFile, type LoggedIn } from '../helpers/vod-access.js';

const E401 = { message: 'Invalid or expired user token', result: [], status: 401 };
const E403 = { message: 'User has no rights to access the video Error the video is not owned by any company', result: [], status: 403 };
const E404 = { message: 'Segment not found', result: [], status: 404 };
const E500 = { message: 'Internal server error', result: [], status: 500 };

let h: Harness;
let vod: VideoRecord;
let otherVod: VideoRecord;
let alice: LoggedIn;
let bob: LoggedIn;

function segment(videoId: string, n: string | number, body: unknown, headers: Record<string, string> = {}) {
  return h.app.inject({
    method: 'POST',
    url: `/api/um-get-hls-segment/${videoId}/${n}`,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

/** The chunk URIs of a rendition's stored VOD playlist, in order. */
async function playlistChunks(video: VideoRecord, rendition: string): Promise<string[]> {
  const text = await readFile(vodFile(h, video.id, `${rendition}.m3u8`), 'utf8');
  return text.split('\n').filter((line) => line && !line.startsWith('#'));
}

beforeAll(async () => {
  ({ h, vod, otherVod, alice, bob } = await startTwoCompanies('Mine'));
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('200', () => {
  it('sends each segment, counted from 1 in playlist order, byte-identical to the VOD file', async () => {
    for (const rendition of vod.videos) {
      const uris = await playlistChunks(vod, rendition.rendition);
      expect(uris).toHaveLength(rendition.segments);
      for (let n = 1; n <= uris.length; n++) {
        const res = await segment(rendition.id, n, { user_token: alice.token });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/octet-stream');
        const file = await readFile(vodFile(h, vod.id, uris[n - 1]));
        expect(Number(res.headers['content-length'])).toBe(file.length);
        expect(res.rawPayload.equals(file)).toBe(true);
      }
    }
  });

  it('sends segments that decode, one by one and joined in order', async () => {
    const rendition = vod.videos[vod.videos.length - 1];
    const parts: Buffer[] = [];
    for (let n = 1; n <= rendition.segments; n++) {
      const bytes = (await segment(rendition.id, n, { user_token: alice.token })).rawPayload;
      expect(await decodes(bytes)).toEqual({ ok: true, stderr: '' });
      parts.push(bytes);
    }
    expect(await decodes(Buffer.concat(parts))).toEqual({ ok: true, stderr: '' });
  });

  it('reads the body as JSON whatever its Content-Type says', async () => {
    const res = await segment(vod.videos[0].id, 1, { user_token: alice.token }, { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(200);
  });
});

describe('401', () => {
  it('for every token that is not a valid, unexpired HS256 user token of ours', async () => {
    for (const [what, token] of Object.entries(await badUserTokens(h, alice))) {
      const res = await segment(vod.videos[0].id, 1, { user_token: token });
      expect(res.statusCode, what).toBe(401);
      expect(res.json(), what).toEqual(E401);
    }
  });

  it('for a body that is not JSON, lacks user_token, or holds a non-string (no 400 in this API)', async () => {
    const bodies: unknown[] = [
      undefined, '', 'user_token=x', '{"user_token": ', '[]', 'null', '42', {}, { token: alice.token },
      { user_token: null }, { user_token: 5 }, { user_token: [alice.token] }, { user_token: { t: alice.token } },
      { user_token: 'x'.repeat(9000) },
    ];
    for (const body of bodies) {
      const res = await segment(vod.videos[0].id, 1, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(401);
      expect(res.json()).toEqual(E401);
    }
  });

  it('for a token sent anywhere but the body', async () => {
    const res = await segment(vod.videos[0].id, 1, undefined, { authorization: `Bearer ${alice.token}` });
    expect(res.json()).toEqual(E401);
  });

  it('before anything else is looked at: a bad token on a bad video or segment is still 401', async () => {
    for (const [videoId, n] of [['..%2Fx', 1], [otherVod.videos[0].id, 1], [vod.videos[0].id, 0]] as const) {
      expect((await segment(videoId, n, { user_token: 'nope' })).json()).toEqual(E401);
    }
  });

  it('once the user is deleted, for the tokens issued before', async () => {
    const carol = await loginAs(h, h.company.client_id);
    expect((await segment(vod.videos[0].id, 1, { user_token: carol.token })).statusCode).toBe(200);
    await deleteUser(h.ctx, carol.userId);
    const res = await segment(vod.videos[0].id, 1, { user_token: carol.token });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(E401);
  });

  it('once the token has expired (JWT_TTL_SECONDS, 1 h)', async () => {
    const start = h.clock.now();
    try {
      h.clock.advance(3601_000);
      expect((await segment(vod.videos[0].id, 1, { user_token: alice.token })).json()).toEqual(E401);
    } finally {
      h.clock.set(start);
    }
  });
});

describe('403', () => {
  it('for an unknown video, another company\'s, a non-rendition id, or an id of the wrong shape', async () => {
    const ids = [
      `vid-${'A'.repeat(24)}`, otherVod.videos[0].id, String(vod.id), '..%2Fx', '..%2F..%2Fetc', 'vid-short', `vid-${'a'.repeat(65)}`,
      `vid-${'a'.repeat(19)}!`, `VID-${'a'.repeat(24)}`, '%00',
    ];
    for (const id of ids) {
      const res = await segment(id, 1, { user_token: alice.token });
      expect(res.statusCode, id).toBe(403);
      expect(res.json(), id).toEqual(E403);
    }
  });

  it('before the segment range: another company\'s video answers 403 for a segment past its last', async () => {
    expect((await segment(otherVod.videos[0].id, 999, { user_token: alice.token })).json()).toEqual(E403);
    // A segment that is no number at all is refused by the schema, whoever owns the video.
    expect((await segment(otherVod.videos[0].id, 'abc', { user_token: alice.token })).json()).toEqual(E404);
  });
});

describe('404', () => {
  it('for a segment that is not a positive integer, or past the last', async () => {
    const rendition = vod.videos[0];
    for (const n of ['0', '-1', '1.5', 'abc', '01', '1e2', '%20', String(rendition.segments + 1), '999999999', '99999999999']) {
      const res = await segment(rendition.id, n, { user_token: alice.token });
      expect(res.statusCode, n).toBe(404);
      expect(res.json(), n).toEqual(E404);
    }
  });

  it('for a video that is not ready yet', async () => {
    const pending: VideoRecord = {
      ...vod, id: 900_001, status: 'pending', progress: 10, ready_at: null,
      videos: vod.videos.map((r, i) => ({ ...r, id: `vid-pending${'x'.repeat(15)}${i}` })),
    };
    await saveVideo(h.ctx, pending);
    expect((await segment(pending.videos[0].id, 1, { user_token: alice.token })).json()).toEqual(E404);
  });
});

describe('500', () => {
  it('when storage fails, with nothing of the failure in the body', async () => {
    // The smallest segments are read whole, the biggest streamed: both ways fail alike.
    for (const rendition of [vod.videos[0], vod.videos[vod.videos.length - 1]]) {
      const file = vodFile(h, vod.id, rendition.rendition, '00002.ts');
      await rename(file, `${file}.away`);
      try {
        const res = await segment(rendition.id, 2, { user_token: alice.token });
        expect(res.statusCode).toBe(500);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.json()).toEqual(E500);
      } finally {
        await rename(`${file}.away`, file);
      }
      expect((await segment(rendition.id, 2, { user_token: alice.token })).statusCode).toBe(200);
    }
  });
});

describe('two companies', () => {
  it('no token of one company reaches a segment of the other, either way', async () => {
    for (const [user, theirs] of [[alice, otherVod], [bob, vod]] as const) {
      for (const rendition of theirs.videos) {
        for (const n of [1, rendition.segments]) {
          expect((await segment(rendition.id, n, { user_token: user.token })).json()).toEqual(E403);
        }
      }
    }
    expect((await segment(otherVod.videos[0].id, 1, { user_token: bob.token })).statusCode).toBe(200);
  });
});
