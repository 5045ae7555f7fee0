// SPEC 7.3 (seed 003): a recording's details, its download URL, and the
// /distribution download behind it, against real VODs of two companies.
// Every error body is compared whole.
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, base64url, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteUser } from '../../src/tenancy/users.js';
import type { VideoRecord } from '../../src/vod/records.js';
import { BASE_URL, type Harness } from '../helpers/harness.js';
import { badUserTokens, decodes, loginAs, startTwoCompanies, vodFile, type LoggedIn } from '../helpers/vod-access.js';

const NO_KEY = { error: { code: 401, message: 'No API key provided' } };
const BAD = { error: { code: 401, message: 'Bad credentials.' } };
const NOT_FOUND = { type: 'https://tools.ietf.org/html/rfc2616#section-10', title: 'An error occurred', status: 404, detail: 'Not Found' };
const OTHER_FILE = { error: { code: 403, message: 'The access token is for another file.' } };

let h: Harness;
let vod: VideoRecord;
let otherVod: VideoRecord;
let alice: LoggedIn;
let bob: LoggedIn;

const get = (url: string, headers: Record<string, string> = {}) =>
  h.app.inject({ method: 'GET', url: url.startsWith(BASE_URL) ? url.slice(BASE_URL.length) : url, headers });
const record = (id: string | number, token?: string) =>
  get(`/api/v3/records/${id}${token === undefined ? '' : `?access_token=${encodeURIComponent(token)}`}`);
const download = (id: string | number, videoId: string, token?: string) =>
  get(`/api/v3/records/download/${id}/${videoId}${token === undefined ? '' : `?access_token=${encodeURIComponent(token)}`}`);

async function linkFor(user: LoggedIn, video: VideoRecord, i = 0): Promise<URL> {
  const res = await download(video.id, video.videos[i].id, user.token);
  expect(res.statusCode).toBe(200);
  return new URL(res.json().url);
}
/** The link's path and query, with the access_token replaced. */
const withToken = (link: URL, token: string | null) => {
  const copy = new URL(link);
  if (token === null) copy.searchParams.delete('access_token');
  else copy.searchParams.set('access_token', token);
  return `${copy.pathname}${copy.search}`;
};

beforeAll(async () => {
  ({ h, vod, otherVod, alice, bob } = await startTwoCompanies('Room 1 / "east"'));
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('GET /api/v3/records/{recordID}', () => {
  it('answers the recording and its videos', async () => {
    const res = await record(vod.id, alice.token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      data: {
        id: vod.id, name: vod.name, created_at: vod.created_at, duration: vod.duration,
        videos: vod.videos.map((r) => ({ id: r.id, rendition: r.rendition, height: r.height, width: r.width })),
      },
    });
  });

  it('401 No API key provided without a token, or with one anywhere but the query', async () => {
    for (const res of [
      await record(vod.id), await record(vod.id, ''),
      await get(`/api/v3/records/${vod.id}`, { authorization: `Bearer ${alice.token}` }),
      await get(`/api/v3/records/${vod.id}`, { access_token: alice.token }),
      await get(`/api/v3/records/${vod.id}?token=${alice.token}`),
    ]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual(NO_KEY);
    }
  });

  it('401 Bad credentials for a bad, expired, forged or deleted user\'s token, before the id is looked at', async () => {
    const carol = await loginAs(h, h.company.client_id);
    await deleteUser(h.ctx, carol.userId);
    const tokens = { ...(await badUserTokens(h, alice)), 'deleted user': carol.token };
    delete (tokens as Record<string, string>).empty;
    for (const [what, token] of Object.entries(tokens)) {
      for (const id of [vod.id, 'abc']) {
        const res = what === 'deleted user' && id === 'abc' ? null : await record(id, token);
        if (!res) continue;
        expect(res.statusCode, what).toBe(401);
        expect(res.json(), what).toEqual(BAD);
      }
    }
    const twice = await get(`/api/v3/records/${vod.id}?access_token=${alice.token}&access_token=${alice.token}`);
    expect(twice.json()).toEqual(BAD);
  });

  it('404 for an unknown record, another company\'s, or an id of the wrong shape', async () => {
    for (const id of [999_999, otherVod.id, 0, -1, '1.5', 'abc', '..%2F1', '%00', '1'.repeat(17)]) {
      const res = await record(id, alice.token);
      expect(res.statusCode, String(id)).toBe(404);
      expect(res.json(), String(id)).toEqual(NOT_FOUND);
    }
  });
});

describe('GET /api/v3/records/download/{recordID}/{videoID}', () => {
  it('answers a /distribution URL with the name and a 30-minute EdDSA token bound to that one file', async () => {
    const rendition = vod.videos[2];
    const res = await download(vod.id, rendition.id, alice.token);
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json())).toEqual(['url']);
    const link = new URL(res.json().url);
    expect(`${link.origin}${link.pathname}`).toBe(`${BASE_URL}/distribution/${vod.id}/${rendition.id}.mp4`);
    expect([...link.searchParams.keys()]).toEqual(['filename', 'access_token']);
    expect(link.searchParams.get('filename')).toBe(`${vod.name.replace(/[/"<>:|?*]+/g, '_')}.mp4`);
    const token = link.searchParams.get('access_token')!;
    const jwks = (await get('/.well-known/jwks.json')).json();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', kid: jwks.keys[0].kid, typ: 'JWT' });
    const now = Math.floor(h.clock.now() / 1000);
    expect(decodeJwt(token)).toEqual({ typ: 'download', path: link.pathname, iat: now, exp: now + 1800 });
    // An edge holding only the JWKS can check it.
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { currentDate: new Date(h.clock.now()) });
    expect(payload.path).toBe(link.pathname);
  });

  it('401s like the record API', async () => {
    expect((await download(vod.id, vod.videos[0].id)).json()).toEqual(NO_KEY);
    expect((await download(vod.id, vod.videos[0].id, 'nope')).json()).toEqual(BAD);
    const link = await linkFor(alice, vod);
    // A download token is no access token.
    expect((await download(vod.id, vod.videos[0].id, link.searchParams.get('access_token')!)).json()).toEqual(BAD);
  });

  it('404 for an unknown record or video, another record\'s video, another company\'s, or a bad shape', async () => {
    const cases: Array<[string | number, string]> = [
      [999_999, vod.videos[0].id], [vod.id, `vid-${'Z'.repeat(24)}`], [vod.id, otherVod.videos[0].id],
      [otherVod.id, otherVod.videos[0].id], [vod.id, '..%2F..%2Fkeys'], ['abc', vod.videos[0].id], [vod.id, 'media_1_240'],
    ];
    for (const [id, videoId] of cases) {
      const res = await download(id, videoId, alice.token);
      expect(res.statusCode, `${id}/${videoId}`).toBe(404);
      expect(res.json()).toEqual(NOT_FOUND);
    }
  });
});

describe('GET /distribution/…', () => {
  it('sends the MP4, byte-identical to the VOD file, as an attachment, and it decodes', async () => {
    const link = await linkFor(alice, vod, 1);
    const res = await get(withToken(link, link.searchParams.get('access_token')));
    expect(res.statusCode).toBe(200);
    const file = await readFile(vodFile(h, vod.id, `${vod.videos[1].rendition}.mp4`));
    expect(res.headers).toMatchObject({
      'content-type': 'video/mp4', 'accept-ranges': 'bytes', 'content-length': String(file.length),
      'content-disposition': `attachment; filename="${link.searchParams.get('filename')}"`,
    });
    expect(res.rawPayload.equals(file)).toBe(true);
    expect(await decodes(res.rawPayload)).toEqual({ ok: true, stderr: '' });
    const head = await h.app.inject({ method: 'HEAD', url: withToken(link, link.searchParams.get('access_token')) });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(file.length));
    expect(head.rawPayload.length).toBe(0);
  });

  it('answers ranges with 206, and 416 when none can be met', async () => {
    const link = await linkFor(alice, vod);
    const url = `${link.pathname}${link.search}`;
    const file = await readFile(vodFile(h, vod.id, `${vod.videos[0].rendition}.mp4`));
    const size = file.length;
    for (const [range, start, end] of [['bytes=0-99', 0, 99], ['bytes=100-', 100, size - 1], ['bytes=-50', size - 50, size - 1],
      [`bytes=10-${size + 100}`, 10, size - 1]] as const) {
      const res = await get(url, { range });
      expect(res.statusCode, range).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.rawPayload.equals(file.subarray(start, end + 1))).toBe(true);
    }
    const res = await get(url, { range: `bytes=${size}-` });
    expect(res.statusCode).toBe(416);
    expect(res.headers['content-range']).toBe(`bytes */${size}`);
    expect(res.json()).toEqual({ error: { code: 416, message: 'Range Not Satisfiable' } });
  });

  it('sanitizes the file name it is asked for', async () => {
    const link = await linkFor(alice, vod);
    for (const [asked, sent] of [['../../etc/passwd', '.._.._etc_passwd.mp4'], ['a"b\r\nX-Evil: 1', 'a_b_X-Evil_ 1.mp4'], ['x<y>|z?*', 'x_y_z_.mp4'],
      ['movie.exe', 'movie.exe.mp4'], ['', `${vod.name.replace(/[/"<>:|?*]+/g, '_')}.mp4`]] as const) {
      const copy = new URL(link);
      copy.searchParams.set('filename', asked);
      const res = await get(`${copy.pathname}${copy.search}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-disposition']).toBe(`attachment; filename="${sent}"`);
    }
  });

  it('401 without a token, and for a bad, expired or edited one, or a user token', async () => {
    const link = await linkFor(alice, vod);
    const token = link.searchParams.get('access_token')!;
    const [header, payload, signature] = token.split('.');
    const claims = decodeJwt(token);
    const edit = (change: object) => `${header}.${base64url.encode(JSON.stringify({ ...claims, ...change }))}.${signature}`;
    expect((await get(withToken(link, null))).json()).toEqual(NO_KEY);
    expect((await get(withToken(link, ''))).json()).toEqual(NO_KEY);
    expect((await get(withToken(link, null), { authorization: `Bearer ${token}` })).json()).toEqual(NO_KEY);
    for (const bad of ['nope', alice.token, edit({ path: `/distribution/${vod.id}/${vod.videos[1].id}.mp4` }),
      edit({ exp: Number(claims.exp) + 3600 }), `${header}.${payload}.${signature.slice(0, -4)}AAAA`]) {
      const res = await get(withToken(link, bad));
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual(BAD);
    }
    const start = h.clock.now();
    try {
      h.clock.advance(1801_000);
      expect((await get(withToken(link, token))).json()).toEqual(BAD);
    } finally {
      h.clock.set(start);
    }
  });

  it('403 for a valid token made for another file', async () => {
    const link = await linkFor(alice, vod, 0);
    const tokenOfFile1 = (await linkFor(alice, vod, 1)).searchParams.get('access_token')!;
    const res = await get(withToken(link, tokenOfFile1));
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual(OTHER_FILE);
  });

  it('404 once the video is gone, even with its token', async () => {
    const link = await linkFor(alice, vod);
    await h.ctx.redis.hset(h.ctx.keys.video(vod.id), 'status', 'error');
    try {
      const res = await get(`${link.pathname}${link.search}`);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual(NOT_FOUND);
    } finally {
      await h.ctx.redis.hset(h.ctx.keys.video(vod.id), 'status', 'ready');
    }
  });
});

describe('two companies', () => {
  it('no token of one company reaches a record, link or file of the other, either way', async () => {
    for (const [user, mine, theirs] of [[alice, vod, otherVod], [bob, otherVod, vod]] as const) {
      expect((await record(theirs.id, user.token)).json()).toEqual(NOT_FOUND);
      for (const rendition of theirs.videos) {
        expect((await download(theirs.id, rendition.id, user.token)).json()).toEqual(NOT_FOUND);
        // A link of one's own, pointed at the other company's file.
        const link = await linkFor(user, mine);
        const res = await get(`/distribution/${theirs.id}/${rendition.id}.mp4?access_token=${link.searchParams.get('access_token')}`);
        expect(res.statusCode).toBe(403);
        expect(res.json()).toEqual(OTHER_FILE);
      }
      expect((await record(mine.id, user.token)).statusCode).toBe(200);
    }
  });
});
