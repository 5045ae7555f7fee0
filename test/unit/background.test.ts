import { describe, expect, it } from 'vitest';
import { executionAsyncId } from 'node:async_hooks';
import { BackgroundQueue, defaultConcurrency } from '../../src/util/background.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('background queue', () => {
  it('uses half the cores, at least one', () => {
    expect(defaultConcurrency(1)).toBe(1);
    expect(defaultConcurrency(2)).toBe(1);
    expect(defaultConcurrency(3)).toBe(1);
    expect(defaultConcurrency(8)).toBe(4);
  });

  it('starts nothing while submissions keep coming, then runs them all, never more than its bound at once', async () => {
    const queue = new BackgroundQueue({ concurrency: 2, quietMs: 400, maxDeferMs: 60_000 });
    let running = 0;
    let peak = 0;
    const done: string[] = [];
    const startedDuringBurst: string[] = [];
    const started: string[] = [];
    let burst = true;
    for (let i = 0; i < 12; i++) {
      queue.submit(`t${i}`, async () => {
        if (burst) startedDuringBurst.push(`t${i}`);
        started.push(`t${i}`);
        running++;
        peak = Math.max(peak, running);
        await sleep(20);
        running--;
        done.push(`t${i}`);
      });
      await sleep(5); // a burst: submissions closer than quietMs
    }
    burst = false;
    expect(startedDuringBurst).toEqual([]);
    expect(queue.pending).toBe(12);
    await queue.idle();
    expect(done).toHaveLength(12);
    expect(peak).toBeLessThanOrEqual(2);
    // First come, first served.
    expect(started).toEqual(Array.from({ length: 12 }, (_, i) => `t${i}`));
    await queue.close();
  });

  it('a task that waited maxDeferMs starts even while submissions go on', async () => {
    const queue = new BackgroundQueue({ concurrency: 1, quietMs: 10_000, maxDeferMs: 100 });
    let ran = false;
    queue.submit('first', async () => void (ran = true));
    const until = Date.now() + 3000;
    for (let i = 0; !ran && Date.now() < until; i++) {
      queue.submit(`more${i}`, async () => undefined);
      await sleep(20);
    }
    expect(ran).toBe(true);
    await queue.close();
  });

  it('coalesces a key submitted again while queued or running', async () => {
    const queue = new BackgroundQueue({ concurrency: 1, quietMs: 0 });
    let runs = 0;
    const task = async () => {
      runs++;
      await sleep(30);
    };
    queue.submit('same', task);
    queue.submit('same', task);
    await sleep(10); // now running
    queue.submit('same', task);
    await queue.idle();
    expect(runs).toBe(1);
    await queue.close();
  });

  it('drops the oldest past maxQueued, reports failures, and refuses work once closed', async () => {
    const dropped: string[] = [];
    const failed: string[] = [];
    const queue = new BackgroundQueue({
      concurrency: 1, quietMs: 50, maxQueued: 2, onDrop: (k) => dropped.push(k), onError: (k) => failed.push(k),
    });
    queue.submit('a', async () => undefined);
    queue.submit('b', async () => {
      throw new Error('boom');
    });
    queue.submit('c', async () => undefined);
    expect(dropped).toEqual(['a']);
    await queue.idle();
    expect(failed).toEqual(['b']);
    await queue.close();
    expect(queue.submit('d', async () => undefined)).toBe(false);
  });

  it('close aborts running tasks and waits for them', async () => {
    const queue = new BackgroundQueue({ concurrency: 1, quietMs: 0 });
    let aborted = false;
    queue.submit('long', (signal) => new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => {
        aborted = true;
        resolve();
      });
    }));
    await sleep(20);
    expect(queue.active).toBe(1);
    await queue.close();
    expect(aborted).toBe(true);
    expect(queue.active).toBe(0);
  });

  it('tells a task its niceness', async () => {
    const queue = new BackgroundQueue({ concurrency: 1, quietMs: 0, niceness: 10 });
    let told = -1;
    queue.submit('spawn', async (_signal, nice) => {
      told = nice;
    });
    await queue.idle();
    expect(told).toBe(10);
    await queue.close();
  });

  it('leaves async hooks off: with them on, every promise of the process pays for them', async () => {
    // With a promise hook on (an AsyncLocalStorage ever run turns one on for
    // good), each promise continuation gets its own async id; without, 0.
    const continuationIds = async () => {
      await Promise.resolve();
      const first = executionAsyncId();
      await Promise.resolve();
      return [first, executionAsyncId()];
    };
    const queue = new BackgroundQueue({ concurrency: 1, quietMs: 0, niceness: 10 });
    queue.submit('work', async () => {
      await sleep(1);
    });
    await queue.idle();
    await queue.close();
    expect(await continuationIds()).toEqual([0, 0]);
  });

  it('runs a clip\'s task before thumbnail tiles queued earlier, and drops tiles first when full', async () => {
    const order: string[] = [];
    const dropped: string[] = [];
    const queue = new BackgroundQueue({ concurrency: 1, quietMs: 0, maxQueued: 4, onDrop: (key) => dropped.push(key) });
    const task = (key: string) => async () => {
      order.push(key);
    };
    for (const key of ['tile1', 'tile2', 'tile3']) queue.submit(key, task(key), 'idle');
    queue.submit('mp4', task('mp4'));
    // Full: the oldest tile goes, the clip's task stays.
    queue.submit('mp4b', task('mp4b'), 'clip');
    expect(dropped).toEqual(['tile1']);
    await queue.idle();
    expect(order).toEqual(['mp4', 'mp4b', 'tile2', 'tile3']);
    await queue.close();
  });
});
