// Building a clip's MP4: once however many requests arrive (in one process
// and across two), failures that leave nothing behind and are retried, ffmpeg
// children that never outlive their timeout, abort or the shutdown.
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../../fixtures/make.js';
import { loadClipChunks } from '../../src/clips/chunks.js';
import { loadClip, type ClipView } from '../../src/clips/records.js';
import { loadConfig } from '../../src/config.js';
import type { StreamView } from '../../src/dvr/streams.js';
import { metrics } from '../../src/metrics.js';
import { BuildLock, type Lease } from '../../src/mp4/build-lock.js';
import { Mp4Cache } from '../../src/mp4/cache.js';
import { killAllFfmpeg, remuxesStarted, remuxTsToMp4, runningFfmpegCount } from '../../src/mp4/remux.js';
import { startService, type Service } from '../../src/service.js';
import { spawnerPid } from '../../src/util/spawner.js';
import { BASE_URL, startHarness, TEST_REDIS_URL, waitFor, type Harness } from '../helpers/harness.js';

let h: Harness;
let second: Service;
let stream: StreamView;
let t0: number;
const silent = pino({ level: 'silent' });

function pathOf(url: string): string {
  return new URL(url).pathname;
}

async function cutClip(harness: Harness, target: StreamView, body: { start: number; duration: number }): Promise<ClipView> {
  const res = await harness.api('PUT', `/streaming/streams/${target.id}/clip_recording`, body);
  if (res.statusCode !== 200) throw new Error(`clip: ${res.statusCode} ${res.body}`);
  return res.json() as ClipView;
}

async function pushProbed(harness: Harness, target: StreamView): Promise<number> {
  const { start } = await harness.pushLadder(target, { from: 0, to: 11 });
  await waitFor(async () => {
    const view = (await harness.api('GET', `/streaming/streams/${target.id}`)).json() as StreamView;
    return view.renditions.length === 3 && view.renditions.every((r) => r.height);
  }, 'the probe of every rendition', 20_000);
  return start;
}

async function remuxCount(): Promise<number> {
  const metric = await metrics.remuxSeconds.get();
  return metric.values.find((v) => v.metricName === 'dvr_mp4_remux_seconds_count')?.value ?? 0;
}

function files(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }).map(String);
  } catch {
    return [];
  }
}

beforeAll(async () => {
  h = await startHarness();
  stream = await h.createStream({ name: 'mp4 builds' });
  t0 = await pushProbed(h, stream);
  // A second api process: same Redis and key prefix, same DATA_DIR, its own memory.
  second = await startService(loadConfig({
    REDIS_URL: TEST_REDIS_URL, KEY_PREFIX: h.prefix, DATA_DIR: h.ctx.config.dataDir, PUBLIC_BASE_URL: BASE_URL,
    ROLE: 'api', MP4_PREBUILD: '0', LOG_LEVEL: 'warn', RTMP_PORT: '0', SRT_PORT: '0',
  }), { clock: h.clock });
});

afterAll(async () => {
  await second?.close();
  await h?.close();
});

describe('one remux per clip rendition', () => {
  it('serves 20 concurrent first requests, split over two processes, from a single remux', async () => {
    const clip = await cutClip(h, stream, { start: t0 / 1000 + 3, duration: 5 });
    const before = await remuxCount();
    const startedBefore = remuxesStarted();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? h.app : second.app!).inject({ method: 'GET', url: pathOf(clip.mp4_master) })),
    );
    expect(responses.map((r) => r.statusCode), responses.find((r) => r.statusCode !== 200)?.body).toEqual(Array(20).fill(200));
    const first = responses[0].rawPayload;
    expect(first.length).toBeGreaterThan(1000);
    for (const r of responses) expect(r.rawPayload.equals(first)).toBe(true);
    expect((await remuxCount()) - before).toBe(1);
    expect(remuxesStarted() - startedBefore).toBe(1);
    // Then cached: no more remux.
    const again = await second.app!.inject({ method: 'GET', url: pathOf(clip.mp4_master), headers: { range: 'bytes=0-99' } });
    expect(again.statusCode).toBe(206);
    expect((await remuxCount()) - before).toBe(1);
  });

  it('a request waiting for another process\'s build outlasts a Redis command that timed out on a slow machine', async () => {
    const view = await cutClip(h, stream, { start: t0 / 1000 + 2, duration: 3 });
    const clip = (await loadClip(h.ctx, stream.id, view.id))!;
    const rendition = clip.renditions.at(-1)!;
    // Another process holds the build lock.
    const holder = new BuildLock(h.ctx.redis, h.ctx.keys.stream.mp4Lock(stream.id, clip.id, rendition.name), () => undefined);
    const held = await holder.attempt(null);
    expect('lease' in held).toBe(true);
    // This process's polls of the lock: the first ones time out, as with
    // REDIS_COMMAND_TIMEOUT_MS on a loaded machine, on a connection still up.
    let timedOut = 0;
    const redis = new Proxy(h.ctx.redis, {
      get(target, prop) {
        if (prop === 'eval' && timedOut < 3) return async () => { timedOut++; throw new Error('Command timed out'); };
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const waiting = new Mp4Cache({ ...h.ctx, redis });
    await waiting.start();
    try {
      const opened = waiting.open(clip, rendition);
      await waitFor(() => timedOut === 3, 'the timed-out polls', 20_000);
      // The holder's build lands, as the other process's rename would.
      const file = waiting.store.fileOf(`${clip.stream_id}/${clip.id}_${rendition.name}`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, Buffer.alloc(2048, 1));
      await (held as { lease: Lease }).lease.release(false);
      expect((await opened).size).toBe(2048);
    } finally {
      await waiting.close();
    }
  });

  it('prebuilds the master MP4 when a clip becomes ready (MP4_PREBUILD)', async () => {
    const prebuilding = await startHarness({ env: { MP4_PREBUILD: '1' } });
    try {
      const target = await prebuilding.createStream({ name: 'prebuilt' });
      const start = (await pushProbed(prebuilding, target)) / 1000;
      const before = await remuxCount();
      const clip = await cutClip(prebuilding, target, { start: start + 2, duration: 4 });
      expect(clip.status).toBe('ready');
      const deadline = Date.now() + 20_000;
      while ((await remuxCount()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect((await remuxCount()) - before).toBe(1);
      const res = await prebuilding.app.inject({ method: 'GET', url: pathOf(clip.mp4_master) });
      expect(res.statusCode).toBe(200);
      expect((await remuxCount()) - before).toBe(1);
    } finally {
      await prebuilding.close();
    }
  });
});

describe('the cache bound (MP4_CACHE_BYTES)', () => {
  it('streams files too large for memory from disk, and evicts the least recently used beyond the bound', async () => {
    // 1 byte: nothing fits in memory, and only the newest file stays on disk.
    const tiny = await startHarness({ env: { MP4_CACHE_BYTES: '1' } });
    try {
      const target = await tiny.createStream({ name: 'tiny cache' });
      const start = (await pushProbed(tiny, target)) / 1000;
      const a = await cutClip(tiny, target, { start: start + 1, duration: 4 });
      const b = await cutClip(tiny, target, { start: start + 5, duration: 4 });
      const fileOf = (clip: ClipView) => path.join(tiny.service.mp4.cache.store.root, String(target.id), `${clip.id}_${clip.renditions.at(-1)}.mp4`);
      const whole = await tiny.app.inject({ method: 'GET', url: pathOf(a.mp4_master) });
      expect(whole.statusCode).toBe(200);
      const part = await tiny.app.inject({ method: 'GET', url: pathOf(a.mp4_master), headers: { range: 'bytes=100-199' } });
      expect(part.statusCode).toBe(206);
      expect(part.rawPayload.equals(whole.rawPayload.subarray(100, 200))).toBe(true);
      expect(files(path.dirname(fileOf(a)))).toEqual([path.basename(fileOf(a))]);
      const started = remuxesStarted();
      expect((await tiny.app.inject({ method: 'GET', url: pathOf(b.mp4_master) })).statusCode).toBe(200);
      expect(files(path.dirname(fileOf(a)))).toEqual([path.basename(fileOf(b))]);
      // A's file was evicted: asking again builds it again.
      const again = await tiny.app.inject({ method: 'GET', url: pathOf(a.mp4_master) });
      expect(again.rawPayload.equals(whole.rawPayload)).toBe(true);
      expect(remuxesStarted() - started).toBe(2);
    } finally {
      await tiny.close();
    }
  });
});

describe('failures are clear and not cached', () => {
  async function chunkKeys(view: ClipView): Promise<string[]> {
    const clip = (await loadClip(h.ctx, stream.id, view.id))!;
    const chunks = await loadClipChunks(h.ctx, clip, clip.renditions.at(-1)!.playlist);
    return chunks.map((c) => h.ctx.keys.stream.chunk(stream.id, c.id));
  }

  async function damaged<T>(view: ClipView, damage: (key: string) => Promise<unknown>, during: () => Promise<T>): Promise<T> {
    const { redis } = h.ctx;
    const keys = await chunkKeys(view);
    const saved = await Promise.all(keys.map((k) => redis.hgetBuffer(k, 'b')));
    for (const key of keys) await damage(key);
    try {
      return await during();
    } finally {
      for (const [i, key] of keys.entries()) await redis.hset(key, 'b', saved[i]!);
    }
  }

  it.each([
    ['corrupt chunk bytes', (key: string) => h.ctx.redis.hset(key, 'b', 'garbage')],
    ['missing chunk bytes', (key: string) => h.ctx.redis.hdel(key, 'b')],
  ])('%s: 500 with no internals, then the next request after a repair succeeds', async (_name, damage) => {
    const clip = await cutClip(h, stream, { start: t0 / 1000 + 4, duration: 2 + Math.floor(Math.random() * 5) });
    const failed = await damaged(clip, damage, () => h.app.inject({ method: 'GET', url: pathOf(clip.mp4_master) }));
    expect(failed.statusCode).toBe(500);
    expect(Object.keys(failed.json())).toEqual(['message']);
    expect(failed.body).not.toMatch(/ffmpeg|redis|stderr|\/tmp|mp4cache|chunk/i);
    expect(files(h.service.mp4.cache.store.root).filter((f) => f.includes(clip.id))).toEqual([]);
    // The bytes are back: nothing of the failure was cached.
    const ok = await h.app.inject({ method: 'GET', url: pathOf(clip.mp4_master) });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('video/mp4');
  });

  it('fails every request waiting on a failed remux, in both processes, after one attempt', async () => {
    const clip = await cutClip(h, stream, { start: t0 / 1000 + 1, duration: 9 });
    const startedBefore = remuxesStarted();
    const responses = await damaged(clip, (key) => h.ctx.redis.hset(key, 'b', 'garbage'), () => Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? h.app : second.app!).inject({ method: 'GET', url: pathOf(clip.mp4_master) })),
    ));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(500));
    // Usually 1; 2 only when the second process first looked after the first
    // one had already failed (then it rightly tried again). Never one per request.
    expect(remuxesStarted() - startedBefore).toBeLessThanOrEqual(2);
    const ok = await second.app!.inject({ method: 'GET', url: pathOf(clip.mp4_master) });
    expect(ok.statusCode).toBe(200);
  });
});

describe('the build lock', () => {
  it('lets one builder in, tells its waiters when it failed, and lets a later request try again', async () => {
    const key = `${h.ctx.keys.stream.tag(stream.id)}:mp4lock:locktest`;
    const lost: Error[] = [];
    const lock = new BuildLock(h.ctx.redis, key, (err) => lost.push(err));
    const first = await lock.attempt(null);
    expect('lease' in first).toBe(true);
    const waiter = await lock.attempt(null);
    expect(waiter).toEqual({ held: expect.any(String) });
    await (first as { lease: Lease }).lease.release(true);
    // The waiter learns that the build it waited on failed...
    expect(await lock.attempt((waiter as { held: string }).held)).toEqual({ failed: true });
    // ...while a newcomer takes the lock and tries again.
    const again = await lock.attempt(null);
    expect('lease' in again).toBe(true);
    await (again as { lease: Lease }).lease.release(false);
    expect(await h.ctx.redis.exists(key)).toBe(0);
    expect(lost).toEqual([]);
  });
});

describe('ffmpeg children never outlive their work', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'remux-kill-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A source that sends a little and then stalls, as a stuck upstream would. */
  function stalledSource(): PassThrough {
    const source = new PassThrough();
    source.write(Buffer.alloc(188 * 10, 0x47));
    return source;
  }

  async function waitForChild(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (runningFfmpegCount() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(runningFfmpegCount()).toBeGreaterThan(0);
  }

  it('kills ffmpeg at the timeout and removes the partial output', async () => {
    const out = path.join(dir, 'timeout.mp4');
    const began = Date.now();
    await expect(remuxTsToMp4(stalledSource(), out, { timeoutMs: 1000, log: silent })).rejects.toThrow(/timed out/);
    expect(Date.now() - began).toBeLessThan(5000);
    expect(runningFfmpegCount()).toBe(0);
    expect(files(dir)).toEqual([]);
  });

  it('kills ffmpeg when the signal aborts', async () => {
    const controller = new AbortController();
    const remux = remuxTsToMp4(stalledSource(), path.join(dir, 'abort.mp4'), { timeoutMs: 60_000, log: silent, signal: controller.signal });
    await waitForChild();
    controller.abort();
    await expect(remux).rejects.toThrow(/aborted/);
    expect(runningFfmpegCount()).toBe(0);
  });

  it('kills every running ffmpeg on shutdown (killAllFfmpeg)', async () => {
    const remux = remuxTsToMp4(stalledSource(), path.join(dir, 'shutdown.mp4'), { timeoutMs: 60_000, log: silent });
    await waitForChild();
    killAllFfmpeg();
    await expect(remux).rejects.toThrow();
    expect(runningFfmpegCount()).toBe(0);
  });

  it('also remuxes from a .ts file path', async () => {
    const out = path.join(dir, 'from-file.mp4');
    await remuxTsToMp4(fixtures.clipTs, out, { timeoutMs: 30_000, log: silent });
    expect(files(dir)).toContain('from-file.mp4');
  });

  it('fails, leaving no file, when its input breaks off half way (a chunk gone from Redis), never a short MP4', async () => {
    const bytes = await readFile(fixtures.clipTs);
    const half = bytes.subarray(0, Math.floor(bytes.length / 188 / 2) * 188);
    const source = Readable.from((async function* () {
      yield half;
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('chunk x of clip y is missing from Redis');
    })(), { objectMode: false });
    await expect(remuxTsToMp4(source, path.join(dir, 'half.mp4'), { timeoutMs: 30_000, log: silent })).rejects.toThrow(/missing from Redis/);
    expect(files(dir).filter((f) => f.startsWith('half'))).toEqual([]);
    expect(runningFfmpegCount()).toBe(0);
  });

  /**
   * FFMPEG_PATH pointed at a wrapper that writes down its pid, its parent
   * and its niceness, then runs `then` (the real ffmpeg, or a stall).
   */
  async function withWrapper<T>(then: string, body: (mark: string) => Promise<T>): Promise<T> {
    const wrapperDir = await mkdtemp(path.join(os.tmpdir(), 'remux-wrapper-'));
    const mark = path.join(wrapperDir, 'mark');
    const wrapper = path.join(wrapperDir, 'ffmpeg');
    // Field 19 of /proc/PID/stat is the niceness.
    await writeFile(wrapper, `#!/bin/sh\necho "$$ $PPID $(cut -d' ' -f19 /proc/$$/stat)" > ${mark}\n${then}\n`, { mode: 0o755 });
    const saved = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = wrapper;
    try {
      return await body(mark);
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
      await rm(wrapperDir, { recursive: true, force: true });
    }
  }

  const marked = async (mark: string) => {
    await waitFor(async () => (await readFile(mark, 'utf8').catch(() => '')).trim().split(' ').length === 3, 'the wrapper\'s mark', 10_000, 10);
    const [pid, parent, nice] = (await readFile(mark, 'utf8')).trim().split(' ').map(Number);
    return { pid, parent, nice };
  };
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

  it('runs ffmpeg from the spawner helper, not from the service, at the niceness asked', async () => {
    await withWrapper('exec ffmpeg "$@"', async (mark) => {
      const out = path.join(dir, 'niced.mp4');
      await remuxTsToMp4(Readable.from([await readFile(fixtures.clipTs)]), out, { timeoutMs: 30_000, log: silent, nice: 7 });
      const { parent, nice } = await marked(mark);
      // A fork of the service would stop its event loop for as long as the fork takes.
      expect(parent).not.toBe(process.pid);
      expect(parent).toBe(spawnerPid());
      expect(nice).toBe(Math.min(19, os.getPriority() + 7));
      expect(files(dir)).toContain('niced.mp4');
      expect(files(dir).filter((f) => f.startsWith('niced.mp4.'))).toEqual([]);
    });
  });

  it('kills a running ffmpeg when the signal aborts, and at shutdown', async () => {
    await withWrapper('exec sleep 60', async (mark) => {
      const controller = new AbortController();
      const remux = remuxTsToMp4(Readable.from([await readFile(fixtures.clipTs)]), path.join(dir, 'stuck.mp4'), { timeoutMs: 60_000, log: silent, signal: controller.signal });
      const first = await marked(mark);
      expect(alive(first.pid)).toBe(true);
      controller.abort();
      await expect(remux).rejects.toThrow(/aborted/);
      await waitFor(async () => !alive(first.pid), 'the aborted ffmpeg to end', 5000, 10);
      await rm(mark);
      const second = remuxTsToMp4(fixtures.clipTs, path.join(dir, 'stuck2.mp4'), { timeoutMs: 60_000, log: silent });
      const next = await marked(mark);
      killAllFfmpeg();
      await expect(second).rejects.toThrow(/killed at shutdown/);
      await waitFor(async () => !alive(next.pid), 'the ffmpeg stopped at shutdown to end', 5000, 10);
      expect(runningFfmpegCount()).toBe(0);
      expect(files(dir).filter((f) => f.startsWith('stuck'))).toEqual([]);
    });
  });
});
