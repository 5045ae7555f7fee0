// Health, readiness and metrics for whoever runs the service.
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { registry } from '../metrics.js';
import { updateWebhookGauges } from '../events/sweep.js';

/** Our connections wait for a reconnect instead of failing, so a ping that takes this long means down. */
const PING_TIMEOUT_MS = 1000;

function answers(redis: Context['redis'], timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  return Promise.race([redis.ping().then(() => true, () => false), timeout]).finally(() => clearTimeout(timer));
}

export interface Readiness {
  /** Whether this process's workers run (always true for an api-only process). */
  workersRunning(): boolean;
}

export async function opsRoutes(
  app: FastifyInstance, { ctx, queues, readiness }: { ctx: Context; queues: Queues; readiness: Readiness },
): Promise<void> {
  const schema = { tags: ['operations'] };
  app.get('/healthz', { schema }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema }, async (_request, reply) => {
    const redis = await answers(ctx.redis, PING_TIMEOUT_MS);
    const workers = readiness.workersRunning();
    const ready = redis && workers;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', redis, workers });
  });

  const redisMemory = registry.getSingleMetric('dvr_redis_used_memory_bytes') as Gauge | undefined
    ?? new Gauge({ name: 'dvr_redis_used_memory_bytes', help: 'Memory Redis reports in use', registers: [registry] });
  const waiting = registry.getSingleMetric('dvr_jobs_waiting') as Gauge<'queue'> | undefined
    ?? new Gauge({ name: 'dvr_jobs_waiting', help: 'Jobs waiting or delayed, by queue', labelNames: ['queue'], registers: [registry] });

  app.get('/metrics', { schema }, async (_request, reply) => {
    const info = await ctx.redis.info('memory');
    redisMemory.set(Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0));
    await updateWebhookGauges(ctx, queues);
    for (const queue of [queues.finalize, queues.cleaner, queues.vodPromote, queues.webhooks]) {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active');
      waiting.set({ queue: queue.name }, (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.active ?? 0));
    }
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
}
