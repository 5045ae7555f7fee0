// SPEC 9: Lua scripts name every key they touch in KEYS. The suite runs every
// script behind src/redis/key-guard.lua; this file checks the guard itself,
// and that the ingest timeline keeps no key per media sequence number.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guarded } from '../../src/redis/key-guard.js';
import { startHarness, TEST_REDIS_URL, type Harness } from '../helpers/harness.js';

let redis: Redis;
let h: Harness;
const prefix = `t${Math.random().toString(36).slice(2, 10)}`;

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  h = await startHarness();
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await h?.close();
});

describe('the key guard', () => {
  it('is on in the test suite', () => {
    expect(process.env.DVR_LUA_KEY_GUARD).toBe('1');
  });

  it('fails a script on a key it does not name, and runs it when it does', async () => {
    const [a, b] = [`${prefix}:{g}:a`, `${prefix}:{g}:b`];
    const touchB = guarded(`redis.call('SET', '${b}', ARGV[1]) return redis.call('GET', KEYS[1])`);
    await expect(redis.eval(touchB, 1, a, 'x')).rejects.toThrow(/undeclared key .*:b in SET/);
    expect(await redis.exists(b)).toBe(0);
    await expect(redis.eval(touchB, 2, a, b, 'x')).resolves.toBeNull();
    expect(await redis.get(b)).toBe('x');
    // Both keys of a RENAME, and redis.pcall too.
    const rename = guarded(`return redis.pcall('RENAME', KEYS[1], '${prefix}:{g}:c')`);
    await expect(redis.eval(rename, 1, b)).rejects.toThrow(/undeclared key .*:c in RENAME/);
    expect(await redis.get(b)).toBe('x');
  });
});

describe('the ingest timeline', () => {
  it('shares what renditions know of one media sequence through one hash, not a key per sequence', async () => {
    const stream = await h.createStream({ name: 'slots' });
    await h.pushLadder(stream, { from: 0, to: 5 });
    const keys = await h.keys();
    expect(keys.filter((k) => k.includes(':slot:'))).toEqual([]);
    const slots = await h.ctx.redis.hgetall(h.ctx.keys.stream.slots(stream.id));
    // Six sequence numbers, each "start|discSeq", the same start for every rendition.
    expect(Object.keys(slots)).toHaveLength(6);
    for (const value of Object.values(slots)) expect(value).toMatch(/^\d{13}\|0$/);
    expect(await h.ctx.redis.zcard(h.ctx.keys.stream.slotTimes(stream.id))).toBe(6);
  });
});
