// Helpers of the VOD access tests (SPEC 7.1-7.3): a real VOD made the way a
// user makes one (a vod_required clip promoted by the worker), users who log
// in, forged tokens, and an ffmpeg decode check.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { base64url, SignJWT } from 'jose';
import type { StreamView } from '../../src/dvr/streams.js';
import { createUser } from '../../src/tenancy/users.js';
import { loadVideo, type VideoRecord } from '../../src/vod/records.js';
import { startHarness, waitFor, type Company, type Harness } from './harness.js';

/** A ready VOD of a 6-second clip of the fixture ladder, owned by `company`. */
export async function makeVod(h: Harness, company: Company, name: string): Promise<VideoRecord> {
  const stream = await h.createStream({ name }, company.api_key);
  const { start } = await h.pushLadder(stream, { from: 0, to: 11 });
  await waitFor(async () => {
    const view = (await h.api('GET', `/streaming/streams/${stream.id}`, undefined, company.api_key)).json() as StreamView;
    return view.renditions.length === 3 && view.renditions.every((r) => r.height);
  }, 'the probe of every rendition', 20_000);
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`,
    { start: start / 1000 + 2, duration: 6, vod_required: true }, company.api_key);
  if (res.statusCode !== 200) throw new Error(`clip: ${res.statusCode} ${res.body}`);
  const videoId = res.json().video_id as number;
  return waitFor(async () => {
    const video = await loadVideo(h.ctx, videoId);
    if (video?.status === 'error') throw new Error(`promotion failed: ${video.error}`);
    return video?.status === 'ready' ? video : undefined;
  }, `VOD ${videoId} to be ready`, 60_000, 100);
}

export interface LoggedIn {
  userId: string;
  clientId: number;
  token: string;
}

/** Creates a user of the company and logs in through the API. */
export async function loginAs(h: Harness, clientId: number, username = `u${randomBytes(5).toString('hex')}`): Promise<LoggedIn> {
  const password = 'a good long password';
  const user = await createUser(h.ctx, clientId, username, password);
  const res = await h.app.inject({ method: 'POST', url: '/api/v3/authenticate', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login: ${res.statusCode} ${res.body}`);
  return { userId: user.id, clientId, token: res.json().data.access_token };
}

export function vodFile(h: Harness, ...parts: Array<string | number>): string {
  return path.join(h.ctx.config.dataDir, 'vod', ...parts.map(String));
}

/**
 * Tokens that must all be refused: badly signed, another algorithm, alg
 * none, expired, the wrong kind. `user` is a real user, so only the token is
 * at fault.
 */
export async function badUserTokens(h: Harness, user: LoggedIn): Promise<Record<string, string>> {
  const secret = Buffer.from((await h.ctx.redis.get(h.ctx.keys.jwtSecret))!, 'utf8');
  const now = Math.floor(h.clock.now() / 1000);
  const claims = { client_id: user.clientId, typ: 'user' };
  const sign = (alg: string, key: Parameters<SignJWT['sign']>[0], c: object = claims, iat = now, exp = now + 3600) =>
    new SignJWT({ ...c }).setProtectedHeader({ alg }).setSubject(user.userId).setIssuedAt(iat).setExpirationTime(exp).sign(key);
  const [header, payload] = user.token.split('.');
  const noneHeader = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ed = generateKeyPairSync('ed25519').privateKey;
  return {
    'garbage': 'not a token',
    'empty': '',
    'three dots': 'a.b.c',
    'alg none, no signature': `${noneHeader}.${payload}.`,
    'alg none, some signature': `${noneHeader}.${payload}.${base64url.encode('x')}`,
    'HS512 with the right secret': await sign('HS512', secret),
    'HS384 with the right secret': await sign('HS384', secret),
    'RS256': await sign('RS256', rsa),
    'EdDSA': await sign('EdDSA', ed),
    'HS256 with another secret': await sign('HS256', randomBytes(32)),
    'expired (right secret)': await sign('HS256', secret, claims, now - 7200, now - 3600),
    'no typ (right secret)': await sign('HS256', secret, { client_id: user.clientId }),
    'download typ (right secret)': await sign('HS256', secret, { ...claims, typ: 'download' }),
    'payload edited': `${header}.${base64url.encode(JSON.stringify({ ...claims, sub: user.userId, exp: now + 99999 }))}.${user.token.split('.')[2]}`,
  };
}

/** ffmpeg decodes the bytes (fed on stdin) to the end with no error. */
export function decodes(bytes: Buffer): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-v', 'error', '-i', '-', '-f', 'null', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    ffmpeg.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    ffmpeg.on('error', reject);
    ffmpeg.on('close', (code) => resolve({ ok: code === 0 && stderr.trim() === '', stderr }));
    ffmpeg.stdin.on('error', () => undefined);
    ffmpeg.stdin.end(bytes);
  });
}

/** Two companies, each with a VOD and a logged-in user: the world of the tenancy matrix. */
export interface TwoCompanies {
  h: Harness;
  other: Company;
  vod: VideoRecord;
  otherVod: VideoRecord;
  alice: LoggedIn;
  bob: LoggedIn;
}

export async function startTwoCompanies(myVodName: string): Promise<TwoCompanies> {
  const h = await startHarness();
  const other = await h.newCompany('Other company');
  return {
    h,
    other,
    vod: await makeVod(h, h.company, myVodName),
    otherVod: await makeVod(h, other, 'Theirs'),
    alice: await loginAs(h, h.company.client_id),
    bob: await loginAs(h, other.client_id),
  };
}
