// Processor of the dvr-cleaner queue (a repeatable job): retires chunks that
// slid out of each stream's window even when no new chunk arrives to do it.
import type { Context } from '../src/context.js';
import { trimStream } from '../src/dvr/streams.js';

export function cleanerProcessor(ctx: Context) {
  return async (): Promise<number> => {
    let removed = 0;
    for (const id of await ctx.redis.smembers(ctx.keys.activeStreams)) removed += await trimStream(ctx, Number(id));
    if (removed > 0) ctx.log.debug({ removed }, 'dvr cleaner retired chunks');
    return removed;
  };
}
