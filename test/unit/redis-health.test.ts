// The Redis health watch: an outage is one line when it starts and one when
// it ends, however many errors the connections and workers report meanwhile;
// a command that times out while every connection is up is not an outage.
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { isRedisUnavailable, RedisHealth } from '../../src/redis/health.js';

class FakeConnection extends EventEmitter {
  status = 'ready';
}

function capture() {
  const lines: Array<{ level: number; msg: string }> = [];
  const out = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { lines, log: pino({ level: 'info' }, out) };
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
const tick = () => new Promise((r) => setImmediate(r));

describe('RedisHealth', () => {
  it('folds an outage into one line going down and one coming back', async () => {
    const { lines, log } = capture();
    const health = new RedisHealth(log);
    const a = health.watch(new FakeConnection(), 'http');
    const b = health.watch(new FakeConnection(), 'jobs');
    a.status = 'reconnecting';
    b.status = 'reconnecting';
    for (let i = 0; i < 200; i++) {
      a.emit('error', refused());
      b.emit('error', refused());
      health.report('worker clip-finalize', new Error('Connection is closed.'));
    }
    expect(health.down).toBe(true);
    a.status = 'ready';
    a.emit('ready');
    expect(health.down).toBe(true); // the jobs connection is not back yet
    b.status = 'ready';
    b.emit('ready');
    expect(health.down).toBe(false);
    await tick();
    expect(lines.map((l) => l.msg)).toEqual([
      'redis unreachable: requests answer 503 and jobs wait until it is back',
      'redis reachable again',
    ]);
  });

  it('a timeout with the connections up is logged (rate-limited), not taken for an outage', async () => {
    const { lines, log } = capture();
    const health = new RedisHealth(log);
    health.watch(new FakeConnection(), 'http');
    for (let i = 0; i < 50; i++) health.report('http', new Error('Command timed out'));
    expect(health.down).toBe(false);
    await tick();
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe(50);
  });

  it('knows the errors that mean Redis cannot be reached', () => {
    expect(isRedisUnavailable(refused())).toBe(true);
    expect(isRedisUnavailable(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(true);
    expect(isRedisUnavailable(new Error('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isRedisUnavailable(new Error('ERR wrong number of arguments'))).toBe(false);
    expect(isRedisUnavailable('ECONNREFUSED')).toBe(false);
    const socketGone = Object.assign(new Error('connect ENOENT /data/redis/redis.sock'), { code: 'ENOENT', syscall: 'connect' });
    expect(isRedisUnavailable(socketGone)).toBe(true);
    const fileGone = Object.assign(new Error("ENOENT: no such file or directory, open '/data/vod/1/00002.ts'"), { code: 'ENOENT', syscall: 'open' });
    expect(isRedisUnavailable(fileGone)).toBe(false);
  });
});
