// Built on the first request, once: concurrent requests in this process share
// one attempt, and processes share one remux through a Redis lock (see
// build-lock.ts); the result goes to the store (store.ts) for every process.
// A failed remux leaves nothing behind, so the next request tries again.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClipRecord, ClipRendition } from '../clips/records.js';
import type { Context } from '../context.js';
import { timedOutWhileUp } from '../redis/health.js';
import { BuildLock, LEASE_MS, type Lease } from './build-lock.js';
import { clipChunkFormat, clipRunStreams, remuxTsToMp4, SPANS_INIT_CHANGE } from './remux.js';
import type { OpenedMp4 } from './serve.js';
import { Mp4Store } from './store.js';

/** How often a process waiting on another's remux looks again. */
const POLL_MS = 100;

/** Why no MP4 can be served now; `status` is the HTTP answer, `message` safe to show. */
export class Mp4Unavailable extends Error {
  constructor(readonly status: 422 | 500 | 503, message: string) {
    super(message);
  }
}

const FAILED = 'the MP4 could not be built; the failure was logged, try again later';
const SHUTTING_DOWN = 'the server is shutting down; try again';

function keyOf(clip: ClipRecord, rendition: ClipRendition): string {
  // The frame-accurate file of a precise clip is another file: one built before the swap is never served after it.
  return `${clip.stream_id}/${clip.id}_${rendition.name}${clip.accuracy === 'frame' ? '_frame' : ''}`;
}

export class Mp4Cache {
  readonly store: Mp4Store;
  private readonly building = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly ctx: Context) {
    this.store = new Mp4Store(ctx);
  }

  start(): Promise<void> {
    return this.store.start();
  }

  /** Kills this process's remuxes (SIGKILL) and waits until they have cleaned up. */
  async close(): Promise<void> {
    this.store.close();
    this.abort.abort();
    await Promise.allSettled(this.building.values());
  }

  /** The rendition's MP4, built first if no process has yet. Throws Mp4Unavailable. */
  async open(clip: ClipRecord, rendition: ClipRendition): Promise<OpenedMp4> {
    const key = keyOf(clip, rendition);
    // A second miss means the file was evicted between its build and our
    // read (a tiny cache under load): build once more, then give up.
    for (let attempt = 0; attempt < 3; attempt++) {
      const found = await this.store.get(key);
      if (found) return found;
      if (attempt === 0 && (await clipChunkFormat(this.ctx, clip, rendition.playlist)).inits > 1) {
        throw new Mp4Unavailable(422, SPANS_INIT_CHANGE);
      }
      if (attempt < 2) await this.ensure(clip, rendition);
    }
    throw new Mp4Unavailable(503, 'the MP4 was evicted right after its build; try again');
  }

  /**
   * Makes sure the file exists; concurrent callers in this process share one
   * attempt. `nice`: the remux's niceness if this call builds (a prebuild's).
   */
  ensure(clip: ClipRecord, rendition: ClipRendition, nice = 0): Promise<void> {
    const key = keyOf(clip, rendition);
    let pending = this.building.get(key);
    if (!pending) {
      pending = this.obtain(clip, rendition, key, nice).finally(() => this.building.delete(key));
      this.building.set(key, pending);
    }
    return pending;
  }

  private async obtain(clip: ClipRecord, rendition: ClipRendition, key: string, nice: number): Promise<void> {
    const lockKey = this.ctx.keys.stream.mp4Lock(clip.stream_id, clip.id, `${rendition.name}${clip.accuracy === 'frame' ? '_frame' : ''}`);
    const lock = new BuildLock(this.ctx.redis, lockKey, (err) => this.ctx.log.warn({ err, clip_id: clip.id }, 'mp4 build lock'));
    const deadline = Date.now() + this.ctx.config.ffmpegTimeoutMs + LEASE_MS + 5_000;
    let waitedOn: string | null = null;
    for (;;) {
      if (this.abort.signal.aborted) throw new Mp4Unavailable(503, SHUTTING_DOWN);
      if (await this.store.has(key)) return;
      let attempt;
      try {
        attempt = await lock.attempt(waitedOn);
      } catch (err) {
        // A loaded machine answers a poll after REDIS_COMMAND_TIMEOUT_MS while
        // Redis itself is up: waiting for another process's build is bounded by
        // the deadline above (FFMPEG_TIMEOUT_MS), not by one slow command.
        if (!timedOutWhileUp(err, this.ctx.redis) || Date.now() > deadline) throw err;
        await sleep(POLL_MS, undefined, { signal: this.abort.signal }).catch(() => undefined);
        continue;
      }
      if ('lease' in attempt) return this.buildHolding(clip, rendition, key, attempt.lease, nice);
      // The build we waited for (in another process) failed: so do we.
      if ('failed' in attempt) throw new Mp4Unavailable(500, FAILED);
      waitedOn = attempt.held;
      if (Date.now() > deadline) throw new Mp4Unavailable(503, 'the MP4 is still being built; try again');
      await sleep(POLL_MS, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  private async buildHolding(clip: ClipRecord, rendition: ClipRendition, key: string, lease: Lease, nice: number): Promise<void> {
    let failed = true;
    try {
      // The holder before us may have finished between our check and our lock.
      if (!(await this.store.has(key))) await this.build(clip, rendition, key, nice);
      failed = false;
    } finally {
      await lease.release(failed).catch((err) => this.ctx.log.warn({ err, clip_id: clip.id }, 'mp4 build lock release failed'));
    }
  }

  private async build(clip: ClipRecord, rendition: ClipRendition, key: string, nice: number): Promise<void> {
    const file = this.store.fileOf(key);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await mkdir(path.dirname(file), { recursive: true });
    let remuxed = false;
    const { format, inits } = await clipChunkFormat(this.ctx, clip, rendition.playlist);
    // Nothing to build (open() answers 422): a prebuild stops here quietly.
    if (inits > 1) return;
    try {
      await remuxTsToMp4(await clipRunStreams(this.ctx, clip, rendition.playlist), tmp, {
        signal: this.abort.signal, timeoutMs: this.ctx.config.ffmpegTimeoutMs, log: this.ctx.log, clipId: clip.id,
        codecs: rendition.codecs, format, nice,
      });
      remuxed = true;
      await this.store.put(key, tmp);
    } catch (err) {
      await rm(tmp, { force: true });
      if (this.abort.signal.aborted) throw new Mp4Unavailable(503, SHUTTING_DOWN);
      // A failed remux was logged by remuxTsToMp4, with ffmpeg's stderr.
      if (remuxed) this.ctx.log.error({ err, clip_id: clip.id, rendition: rendition.name }, 'mp4 cache write failed');
      // The client is told nothing of the internals.
      throw new Mp4Unavailable(500, FAILED);
    }
  }
}
