// Processor of the dvr-cleaner queue (a repeatable job): retires chunks that
// slid out of each stream's window even when no new chunk arrives to do it,
// and re-schedules the finalization of any recording clip whose window has
// passed (a safety net: its own job is normally already on the way).
import type { Context } from '../src/context.js';
import { rescheduleFinalize } from '../src/clips/finalize.js';
import { advanceTimeline } from '../src/dvr/ingest.js';
import { trimStream } from '../src/dvr/streams.js';
import type { Queues } from '../src/jobs/queues.js';
import { streamEventsChanged } from '../src/events/announce.js';

export function cleanerProcessor(ctx: Context, queues: Queues) {
  return async (): Promise<number> => {
    let removed = 0;
    const overdue = ctx.clock.now() - ctx.config.finalizeGraceSeconds * 1000;
    for (const id of (await ctx.redis.smembers(ctx.keys.activeStreams)).map(Number)) {
      // One stream's trouble must not stop the pass for the others.
      try {
        await advanceTimeline(ctx, id);
        removed += await trimStream(ctx, id);
        await streamEventsChanged(ctx, id); // clip.expired
        for (const clipId of await ctx.redis.zrangebyscore(ctx.keys.stream.recording(id), '-inf', overdue)) {
          await rescheduleFinalize(queues, id, clipId);
        }
      } catch (err) {
        ctx.log.error({ err, stream_id: id }, 'dvr cleaner failed on a stream');
      }
    }
    if (removed > 0) ctx.log.debug({ removed }, 'dvr cleaner retired chunks');
    return removed;
  };
}
