// With MP4_PREBUILD, a clip's master MP4 is built soon after the clip is
// ready, so the first viewer does not wait for the remux. The hook only
// queues the build on the service's background queue (util/background.ts):
// creating or finalizing a clip never waits for ffmpeg, and a burst of ready
// clips does not start a burst of remuxes that would take the cores the API
// needs; they run one after another (per the queue's bound), niced, once
// the burst is over. The build takes the same lock as a request, so a request
// arriving meanwhile shares it, and a prebuild queued after a request built
// the file finds it and stops.
import type { ReadyHook } from '../clips/ready-hooks.js';
import { loadClip } from '../clips/records.js';
import type { Context } from '../context.js';
import { backgroundQueueOf } from '../util/background.js';
import type { Mp4Cache } from './cache.js';

/** The cache of each running service, found by the context the hooks get (tests run several services in one process). */
const caches = new WeakMap<Context, Mp4Cache>();

export function registerPrebuild(ctx: Context, cache: Mp4Cache): void {
  caches.set(ctx, cache);
}

export function unregisterPrebuild(ctx: Context): void {
  caches.delete(ctx);
}

/** The background queue of this service, bounded by BACKGROUND_CONCURRENCY. */
export function backgroundOf(ctx: Context) {
  return backgroundQueueOf(ctx, {
    concurrency: ctx.config.backgroundConcurrency,
    onError: (key, err) => ctx.log.warn({ task: key, err: (err as Error).message }, 'background task failed; the first request will try again'),
    onDrop: (key) => ctx.log.info({ task: key }, 'background queue full: task dropped; the first request will do it'),
  });
}

/** The ready-clip hook, added to each service's hooks in src/service.ts (it finds the service's cache by its context). */
export const prebuildWhenReady: ReadyHook = async (ctx, _queues, clip) => {
  const cache = caches.get(ctx);
  // A clip whose record Redis already let go of has nothing to build.
  const master = clip?.renditions?.at(-1);
  if (!cache || !ctx.config.mp4Prebuild || !master || clip.deleted) return;
  // A precise clip's file is built once its precise version landed (the hooks run again then).
  if (clip.precise && !clip.preciseDone) return;
  backgroundOf(ctx).submit(`mp4:${clip.stream_id}/${clip.id}_${master.name}_${clip.accuracy}`, async (_signal, nice) => {
    // Gone meanwhile (cache closed at shutdown): nothing to do.
    if (caches.get(ctx) !== cache) return;
    // The task may run long after it was queued: a clip deleted or expired
    // since must not get its file back.
    const current = await loadClip(ctx, clip.stream_id, clip.id);
    if (!current || current.status !== 'ready' || current.deleted) return;
    await cache.ensure(current, master, nice);
    ctx.log.debug({ clip_id: clip.id }, 'mp4 prebuilt');
  });
};
