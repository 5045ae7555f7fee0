// Starts the BullMQ workers of this process.
import { Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Context } from '../src/context.js';
import { QUEUE_NAMES, type Queues } from '../src/jobs/queues.js';
import { closeRedis } from '../src/redis/connection.js';
import type { RedisHealth } from '../src/redis/health.js';
import { defineScripts } from '../src/redis/scripts.js';
import { within } from '../src/util/within.js';
import { cleanerProcessor } from './cleaner.js';
import { finalizeProcessor } from './finalize.js';
import { preciseProcessor } from './precise.js';
import { vodJobFailed, vodProcessor, vodWorkerOptions } from './vod.js';
import { webhookProcessor, webhookSweepProcessor, webhookWorkerOptions } from './webhooks.js';

export interface Workers {
  running(): boolean;
  /** Lets running jobs finish for up to `waitMs`; past it (or with 0) they are left to be retried. */
  close(waitMs?: number): Promise<void>;
}

export interface WorkerDeps {
  health: RedisHealth;
  /** A connection that waits for Redis while it is away (BullMQ's `maxRetriesPerRequest: null`). */
  connect(name: string): Promise<Redis>;
}

export async function startWorkers(ctx: Context, queues: Queues, deps: WorkerDeps): Promise<Workers> {
  // Jobs run on connections of their own that wait out a Redis restart, so a
  // job resumes instead of failing (and burning its attempts) while Redis is away.
  const jobRedis = await deps.connect('dvr-jobs');
  defineScripts(jobRedis);
  const jobCtx: Context = { ...ctx, redis: jobRedis };
  const connection = await deps.connect('dvr-workers');
  const common = { connection: connection as unknown as ConnectionOptions, prefix: ctx.keys.queuePrefix };
  const vod = new Worker(QUEUE_NAMES.vodPromote, vodProcessor(jobCtx), { ...common, ...vodWorkerOptions(ctx.config) });
  vod.on('failed', vodJobFailed(jobCtx));
  const workers = [
    new Worker(QUEUE_NAMES.finalize, finalizeProcessor(jobCtx, queues), { ...common, concurrency: 20 }),
    new Worker(QUEUE_NAMES.cleaner, cleanerProcessor(jobCtx, queues), { ...common, concurrency: 1 }),
    // One re-encode at a time per worker process (ffmpeg at nice 19): below viewers and ingest.
    new Worker(QUEUE_NAMES.precise, preciseProcessor(jobCtx, queues), { ...common, concurrency: 1 }),
    vod,
    new Worker(QUEUE_NAMES.webhooks, webhookProcessor(jobCtx, queues), { ...common, ...webhookWorkerOptions(ctx) }),
    new Worker(QUEUE_NAMES.webhookSweep, webhookSweepProcessor(jobCtx, queues), { ...common, concurrency: 1 }),
  ];
  for (const worker of workers) {
    worker.on('failed', (job, err) => {
      // A receiver that fails is expected: its attempts are in the webhook delivery log.
      const level = worker.name === QUEUE_NAMES.webhooks ? 'debug' : 'warn';
      ctx.log[level]({ queue: worker.name, job_id: job?.id, err: err.message }, 'job failed');
    });
    // Errors while Redis is away are one fact, logged once by the health watch.
    worker.on('error', (err) => deps.health.report(`worker ${worker.name}`, err));
  }
  await queues.cleaner.upsertJobScheduler('dvr-cleaner', { every: ctx.config.cleanerIntervalMs }, { name: 'clean' });
  await queues.webhookSweep.upsertJobScheduler('webhook-sweep', { every: ctx.config.webhookSweepMs }, { name: 'sweep' });
  return {
    running: () => workers.every((w) => w.isRunning()),
    async close(waitMs = 20_000) {
      const force = waitMs <= 0 || deps.health.down;
      const closing = Promise.all(workers.map((w) => w.close(force)));
      // Redis going away meanwhile (it got the signal too) ends the wait: no job can finish then.
      const finished = await Promise.race([within(closing, Math.max(waitMs, 2000)), deps.health.whenDown().then(() => false)]);
      if (!finished) {
        ctx.log.warn({ wait_ms: waitMs }, 'shutdown: jobs still running are stopped, to be retried');
        // A promotion stops at its next step; it resumes from there when tried again.
        for (const worker of workers) worker.cancelAllJobs('shutting down');
        await within(closing, 2000);
      }
      // Commands of jobs still running now fail: their jobs are retried (a VOD promotion resumes).
      await closeRedis(connection);
      await closeRedis(jobRedis);
      await within(closing, 2000);
    },
  };
}
