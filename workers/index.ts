// Starts the BullMQ workers of this process.
import { Worker, type ConnectionOptions } from 'bullmq';
import type { Context } from '../src/context.js';
import { QUEUE_NAMES, type Queues } from '../src/jobs/queues.js';
import { cleanerProcessor } from './cleaner.js';
import { finalizeProcessor } from './finalize.js';
import { vodJobFailed, vodProcessor, vodWorkerOptions } from './vod.js';

export interface Workers {
  running(): boolean;
  close(): Promise<void>;
}

export async function startWorkers(ctx: Context, queues: Queues): Promise<Workers> {
  const connection = ctx.redis.duplicate() as unknown as ConnectionOptions;
  const common = { connection, prefix: ctx.keys.queuePrefix };
  const vod = new Worker(QUEUE_NAMES.vodPromote, vodProcessor(ctx), { ...common, ...vodWorkerOptions(ctx.config) });
  vod.on('failed', vodJobFailed(ctx));
  const workers = [
    new Worker(QUEUE_NAMES.finalize, finalizeProcessor(ctx, queues), { ...common, concurrency: 20 }),
    new Worker(QUEUE_NAMES.cleaner, cleanerProcessor(ctx, queues), { ...common, concurrency: 1 }),
    vod,
  ];
  for (const worker of workers) {
    worker.on('failed', (job, err) => ctx.log.warn({ queue: worker.name, job_id: job?.id, err: err.message }, 'job failed'));
    worker.on('error', (err) => ctx.log.error({ queue: worker.name, err }, 'worker error'));
  }
  await queues.cleaner.upsertJobScheduler('dvr-cleaner', { every: ctx.config.cleanerIntervalMs }, { name: 'clean' });
  return {
    running: () => workers.every((w) => w.isRunning()),
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await (connection as unknown as { quit(): Promise<unknown> }).quit();
    },
  };
}
