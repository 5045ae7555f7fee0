// With MP4_PREBUILD, a clip's master MP4 is built as soon as the clip is
// ready, so the first viewer does not wait for the remux. The hook only
// starts the build: finalization (a BullMQ job, or a clip-create request)
// must not wait for ffmpeg. The build takes the same lock as a request, so a
// request arriving meanwhile waits for this build instead of starting another.
import { clipReadyHooks } from '../clips/finalize.js';
import type { Context } from '../context.js';
import type { Mp4Cache } from './cache.js';

/** The cache of each running service, found by the context the hooks get (tests run several services in one process). */
const caches = new WeakMap<Context, Mp4Cache>();

export function registerPrebuild(ctx: Context, cache: Mp4Cache): void {
  caches.set(ctx, cache);
}

export function unregisterPrebuild(ctx: Context): void {
  caches.delete(ctx);
}

clipReadyHooks.add(async (ctx, _queues, clip) => {
  const cache = caches.get(ctx);
  const master = clip.renditions.at(-1);
  if (!cache || !ctx.config.mp4Prebuild || !master) return;
  cache.ensure(clip, master).then(
    () => ctx.log.debug({ clip_id: clip.id }, 'mp4 prebuilt'),
    (err: Error) => ctx.log.warn({ clip_id: clip.id, err: err.message }, 'mp4 prebuild failed; the first request will try again'),
  );
});
