// The startup reconcile with more VOD folders than a spread call can take:
// Math.max(...ids) throws a RangeError past ~120-150k arguments in V8, and
// the worker role then never starts.
import { describe, expect, it } from 'vitest';
import type { Context } from '../../src/context.js';
import { largest, reconcileVods } from '../../src/vod/reconcile.js';
import type { VodStorage } from '../../src/vod/storage.js';

describe('largest', () => {
  it('finds the largest id of 200,000 without spreading them on the stack', () => {
    const ids = Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 200_003 + 1);
    ids[150_001] = 10_000_000;
    expect(largest(ids)).toBe(10_000_000);
    expect(largest([3])).toBe(3);
    expect(largest([])).toBe(-Infinity);
  });
});

describe('reconcileVods', () => {
  it('raises the video id sequence past 200,000 folders', async () => {
    const count = 200_000;
    // Folder names in directory order, not sorted: the largest is in the middle.
    const names = Array.from({ length: count }, (_, i) => String(i === 123_456 ? 9_000_000 : i + 1));
    names.push('tmp', 'not-an-id');
    const evals: string[][] = [];
    const redis = {
      eval: async (_script: string, _n: number, ...args: string[]) => {
        evals.push(args);
        return 1;
      },
      hget: async () => 'ready',
      // The one-time stream index migration has run already.
      exists: async () => 1,
    };
    const ctx = {
      redis, keys: { videoSeq: 'seq:video', video: (id: number) => `video:${id}`, migrated: (name: string) => `migrated:${name}` },
      log: { warn: () => undefined, info: () => undefined },
    } as unknown as Context;
    const storage = { children: async () => names } as unknown as VodStorage;
    const result = await reconcileVods(ctx, storage);
    expect(result.folders).toBe(count);
    expect(evals).toEqual([['seq:video', '9000000']]);
    expect(result.restored).toEqual([]);
  }, 60_000);
});
