// SPEC 7.1: users (CLI, scrypt hashes), POST /api/v3/authenticate, the user
// token's claims, and the failed-login throttle. Real Redis.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL, startHarness, type Harness } from '../helpers/harness.js';
import { failureCounterKeys } from '../../src/tenancy/login-throttle.js';
import { UserTokens } from '../../src/tenancy/user-tokens.js';
import { createUser, deleteUser, findUser, UserError } from '../../src/tenancy/users.js';

const run = promisify(execFile);
let h: Harness;
let clientId: number;
let ipSeq = 0;
/** A fresh client address per test, so the per-IP throttle of one test never reaches another. */
const freshIp = () => `10.0.${Math.floor(++ipSeq / 250)}.${ipSeq % 250}`;

function login(body: unknown, opts: { ip?: string; headers?: Record<string, string> } = {}) {
  return h.app.inject({
    method: 'POST',
    url: '/api/v3/authenticate',
    remoteAddress: opts.ip ?? freshIp(),
    headers: opts.headers,
    ...(body === undefined ? {} : { payload: body as string }),
  });
}

const BAD_CREDENTIALS = { error: { code: 401, message: 'Bad credentials.' } };

beforeAll(async () => {
  h = await startHarness({
    env: { LOGIN_MAX_FAILURES_PER_USER: '3', LOGIN_MAX_FAILURES_PER_IP: '5', LOGIN_FAILURE_WINDOW_SECONDS: '600' },
  });
  clientId = h.company.client_id;
  await createUser(h.ctx, clientId, 'alice', 'correct horse battery');
});
afterAll(async () => {
  await h?.close();
});

describe('users', () => {
  it('are created by the CLI, which prints the user id, and stored with an scrypt hash only', async () => {
    const env = { ...process.env, REDIS_URL: TEST_REDIS_URL, KEY_PREFIX: h.prefix, LOG_LEVEL: 'warn' };
    const args = ['--import', 'tsx', 'src/cli.ts', 'user', 'create', '--client-id', String(clientId), '--username', 'bob',
      '--password', 'hunter2hunter2'];
    const { stdout } = await run(process.execPath, args, { env });
    const { user_id } = JSON.parse(stdout) as { user_id: string };
    expect(user_id).toMatch(/^usr-[A-Za-z0-9]{20}$/);
    const stored = await h.ctx.redis.hgetall(h.ctx.keys.user(user_id));
    expect(stored.password).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(stored)).not.toContain('hunter2');

    // The same name again (in any case) is refused with a usage error.
    const again = await run(process.execPath, [...args.slice(0, -3), 'BOB', '--password', 'x'.repeat(10)], { env }).catch((e) => e);
    expect(again.code).toBe(64);
    expect(again.stderr).toContain('is taken');

    const deleted = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'user', 'delete', '--user-id', user_id], { env });
    expect(JSON.parse(deleted.stdout)).toEqual({ user_id, deleted: true });
    expect(await findUser(h.ctx, user_id)).toBeNull();
  });

  it('have unique usernames across companies and need an existing company', async () => {
    const other = await h.newCompany();
    await expect(createUser(h.ctx, other.client_id, 'Alice', 'another password')).rejects.toThrow(UserError);
    await expect(createUser(h.ctx, 999_999, 'carol', 'a password!')).rejects.toThrow(/does not exist/);
  });

  it('salt every hash: one password gives two different hashes', async () => {
    const a = await createUser(h.ctx, clientId, 'same-1', 'same password');
    const b = await createUser(h.ctx, clientId, 'same-2', 'same password');
    const [ha, hb] = await Promise.all([a, b].map((u) => h.ctx.redis.hget(h.ctx.keys.user(u.id), 'password')));
    expect(ha).not.toEqual(hb);
  });
});

describe('POST /api/v3/authenticate', () => {
  it('answers 200 with an HS256 user token: sub, client_id, iat, exp = iat + JWT_TTL_SECONDS, typ', async () => {
    const res = await login({ username: 'alice', password: 'correct horse battery' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const token = res.json().data.access_token as string;
    expect(Object.keys(res.json())).toEqual(['data']);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toEqual({
      sub: expect.stringMatching(/^usr-/), client_id: clientId, typ: 'user',
      iat: Math.floor(h.clock.now() / 1000), exp: Math.floor(h.clock.now() / 1000) + 3600,
    });
  });

  it('takes the username in any case', async () => {
    expect((await login({ username: 'ALICE', password: 'correct horse battery' })).statusCode).toBe(200);
  });

  it('answers 401 Bad credentials for a wrong password and for an unknown user alike', async () => {
    for (const body of [{ username: 'alice', password: 'wrong password' }, { username: 'nobody', password: 'whatever' }]) {
      const res = await login(body);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual(BAD_CREDENTIALS);
    }
  });

  it('answers 400 in the same envelope for a body that is not JSON or lacks a field', async () => {
    const cases: Array<[unknown, Record<string, string>, string]> = [
      ['{"username": "alice", ', { 'content-type': 'application/json' }, 'body must be JSON'],
      ['username=alice&password=x', { 'content-type': 'application/x-www-form-urlencoded' }, 'body must be JSON'],
      [undefined, {}, 'invalid request: body must be object'],
      [{ username: 'alice' }, {}, "invalid request: body must have required property 'password'"],
      [{ username: 'alice', password: 5 }, {}, 'invalid request: body/password must be string'],
      [[], {}, 'invalid request: body must be object'],
    ];
    for (const [body, headers, message] of cases) {
      const res = await login(typeof body === 'string' || body === undefined ? body : JSON.stringify(body), {
        headers: { 'content-type': 'application/json', ...headers },
      });
      expect(res.statusCode, String(body)).toBe(400);
      expect(res.json()).toEqual({ error: { code: 400, message } });
    }
  });

  it('answers 413 in the same envelope for an oversized body', async () => {
    const res = await login({ username: 'alice', password: 'x'.repeat(20_000) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: { code: 413, message: 'Request body is too large' } });
  });
});

describe('failed-login throttle', () => {
  it('refuses a username after its failures (even with the right password) until the window ends', async () => {
    await createUser(h.ctx, clientId, 'dave', 'daves password');
    for (let i = 0; i < 3; i++) expect((await login({ username: 'dave', password: `guess ${i}` })).statusCode).toBe(401);
    const refused = await login({ username: 'dave', password: 'daves password' });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({ error: { code: 429, message: expect.stringMatching(/^Too many failed logins; try again in \d+ seconds\.$/) } });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(590);
    expect(retryAfter).toBeLessThanOrEqual(600);
    // Another user is not affected.
    expect((await login({ username: 'alice', password: 'correct horse battery' })).statusCode).toBe(200);
    // Bounded: the counter lives for the window and no longer; once it is gone the right password works again.
    const [counter] = failureCounterKeys(h.ctx, 'dave', '');
    expect(await h.ctx.redis.get(counter)).toBe('3');
    const ttl = await h.ctx.redis.pttl(counter);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600_000);
    await h.ctx.redis.pexpire(counter, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect((await login({ username: 'dave', password: 'daves password' })).statusCode).toBe(200);
  });

  it('refuses an IP after its failures across usernames; a success from it does not reset the count', async () => {
    const ip = freshIp();
    await createUser(h.ctx, clientId, 'erin', 'erins password');
    for (let i = 0; i < 3; i++) expect((await login({ username: `ghost-${i}`, password: 'x' }, { ip })).statusCode).toBe(401);
    expect((await login({ username: 'erin', password: 'erins password' }, { ip })).statusCode).toBe(200);
    for (let i = 3; i < 5; i++) expect((await login({ username: `ghost-${i}`, password: 'x' }, { ip })).statusCode).toBe(401);
    const refused = await login({ username: 'erin', password: 'erins password' }, { ip });
    expect(refused.statusCode).toBe(429);
    // The same user from elsewhere still gets in.
    expect((await login({ username: 'erin', password: 'erins password' })).statusCode).toBe(200);
  });

  it('counts a burst of parallel guesses before checking them: no more than the limit get through', async () => {
    await createUser(h.ctx, clientId, 'frank', 'franks password');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => login({ username: 'frank', password: `guess ${i}` })),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 401)).toHaveLength(3);
    expect(codes.filter((c) => c === 429)).toHaveLength(9);
  });
});

describe('user tokens', () => {
  it('share one generated secret through Redis when JWT_SECRET is unset', async () => {
    const secret = await h.ctx.redis.get(h.ctx.keys.jwtSecret);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const res = await login({ username: 'alice', password: 'correct horse battery' });
    const again = await UserTokens.load(h.ctx);
    expect(await again.verify(res.json().data.access_token)).toEqual({ userId: expect.stringMatching(/^usr-/), clientId });
  });

  it('stop working once their user is deleted', async () => {
    const user = await createUser(h.ctx, clientId, 'gone', 'soon gone password');
    const tokens = await UserTokens.load(h.ctx);
    const token = await tokens.issue(user);
    expect(await tokens.verifyLive(token)).toEqual({ userId: user.id, clientId });
    expect(await deleteUser(h.ctx, user.id)).toBe(true);
    expect(await tokens.verifyLive(token)).toBeNull();
    // ... and the name is free again.
    expect((await createUser(h.ctx, clientId, 'gone', 'new password!')).id).not.toBe(user.id);
  });

  it('expire after JWT_TTL_SECONDS', async () => {
    const user = await createUser(h.ctx, clientId, 'ttl', 'ttl password');
    const tokens = await UserTokens.load(h.ctx);
    const token = await tokens.issue(user);
    h.clock.advance(3599_000);
    expect(await tokens.verify(token)).not.toBeNull();
    h.clock.advance(2_000);
    expect(await tokens.verify(token)).toBeNull();
    h.clock.set(Math.floor(Date.now() / 1000) * 1000);
  });
});
