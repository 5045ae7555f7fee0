// The sweep job (every WEBHOOK_SWEEP_MS): announces streams gone silent,
// relays outboxes that still hold entries (a process died before its fast
// path, or the change came from a script with no fast path, such as the
// cleaner's expirations and ingest's stream.live), and now and then makes
// sure every chain's head has a job.
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { metrics } from '../metrics.js';
import { resumeChains } from './chains.js';
import { loadEndpoint } from './endpoints.js';
import { eventKeys } from './keys.js';
import { relayOutbox } from './relay.js';
import { runEventScript } from './scripts.js';

const BATCH = 100;
/** A video outbox is forgotten this long after its last write, once empty. */
const VIDEO_OUTBOX_IDLE_MS = 10 * 60 * 1000;
const REPAIR_EVERY_MS = 60 * 1000;

export async function sweepEvents(ctx: Context, queues: Queues): Promise<number> {
  let relayed = 0;
  const k = eventKeys(ctx.keys);
  const streams = (await ctx.redis.smembers(ctx.keys.activeStreams)).map(Number);
  for (let i = 0; i < streams.length; i += BATCH) {
    const counts = await Promise.all(streams.slice(i, i + BATCH).map(async (id) => {
      const outbox = k.streamOutbox(id);
      await runEventScript(ctx.redis, 'evStreamOffline', [ctx.keys.stream.meta(id), outbox], [ctx.clock.now()]);
      return (await ctx.redis.exists(outbox)) ? relayOutbox(ctx, queues, outbox) : 0;
    }));
    relayed += counts.reduce((a, b) => a + b, 0);
  }
  const videos = await ctx.redis.zrange(k.videoOutboxes, 0, 999, 'WITHSCORES');
  for (let i = 0; i < videos.length; i += 2) {
    const [outbox, score] = [videos[i], videos[i + 1]];
    if (await ctx.redis.exists(outbox)) relayed += await relayOutbox(ctx, queues, outbox);
    else if (Number(score) < Date.now() - VIDEO_OUTBOX_IDLE_MS) await runEventScript(ctx.redis, 'evZremIfScore', [k.videoOutboxes], [outbox, score]);
  }
  if (await ctx.redis.set(k.sweepLock, '1', 'PX', REPAIR_EVERY_MS, 'NX')) await repairChains(ctx, queues);
  return relayed;
}

export async function repairChains(ctx: Context, queues: Queues): Promise<number> {
  const k = eventKeys(ctx.keys);
  let resumed = 0;
  for (const id of await ctx.redis.smembers(k.endpoints)) {
    const ep = await loadEndpoint(ctx, id);
    if (ep?.enabled) resumed += await resumeChains(ctx, queues, id);
  }
  // Members a crash left behind between a settle and its ZREM.
  const stale = Date.now() - ctx.config.webhookRetrySeconds * 1000 - 3600_000;
  await ctx.redis.zremrangebyscore(k.pending, '-inf', stale);
  if (resumed > 0) ctx.log.warn({ resumed }, 'webhook chains without a job were resumed');
  return resumed;
}

/** Read when /metrics is scraped. */
export async function updateWebhookGauges(ctx: Context, queues: Queues): Promise<void> {
  const counts = await queues.webhooks.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
  metrics.webhookQueueDepth.set((counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0));
  const oldest = await ctx.redis.zrange(eventKeys(ctx.keys).pending, 0, 0, 'WITHSCORES');
  metrics.webhookOldestAge.set(oldest.length === 2 ? Math.max(0, (Date.now() - Number(oldest[1])) / 1000) : 0);
}
