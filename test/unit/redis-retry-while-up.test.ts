import { describe, expect, it } from 'vitest';
import { retryWhileUp } from '../../src/redis/health.js';

const timedOut = () => new Error('Command timed out');

describe('retryWhileUp', () => {
  it('asks again after a command that timed out while the connection is up', async () => {
    let calls = 0;
    const value = await retryWhileUp({ status: 'ready' }, async () => {
      calls++;
      if (calls < 3) throw timedOut();
      return 'answer';
    });
    expect(value).toBe('answer');
    expect(calls).toBe(3);
  });

  it('gives up after its attempts, and at once when Redis is away or the error is another', async () => {
    let calls = 0;
    await expect(retryWhileUp({ status: 'ready' }, async () => { calls++; throw timedOut(); }, 2)).rejects.toThrow('Command timed out');
    expect(calls).toBe(2);
    calls = 0;
    await expect(retryWhileUp({ status: 'reconnecting' }, async () => { calls++; throw timedOut(); })).rejects.toThrow('Command timed out');
    expect(calls).toBe(1);
    calls = 0;
    await expect(retryWhileUp({ status: 'ready' }, async () => { calls++; throw new Error('WRONGTYPE'); })).rejects.toThrow('WRONGTYPE');
    expect(calls).toBe(1);
  });
});
