// Processors of the webhook queues: deliveries (one job per chain head, see
// src/events/chains.ts) and the sweep (a repeatable job).
import type { Job, WorkerOptions } from 'bullmq';
import type { Context } from '../src/context.js';
import type { Queues } from '../src/jobs/queues.js';
import { deliverHead, webhookBackoff, type DeliveryOutcome } from '../src/events/deliver.js';
import { sweepEvents } from '../src/events/sweep.js';
import type { DeliveryJob } from '../src/events/types.js';

export function webhookProcessor(ctx: Context, queues: Queues) {
  return (job: Job<DeliveryJob>): Promise<DeliveryOutcome> => deliverHead(ctx, queues, job);
}

export function webhookSweepProcessor(ctx: Context, queues: Queues) {
  return (): Promise<number> => sweepEvents(ctx, queues);
}

/** A worker that dies mid-delivery loses its lock; another takes the job after about JOB_LOCK_MS. */
export function webhookWorkerOptions(ctx: Context): Partial<WorkerOptions> {
  return {
    concurrency: ctx.config.webhookConcurrency,
    lockDuration: ctx.config.jobLockMs,
    stalledInterval: ctx.config.jobLockMs,
    maxStalledCount: 10,
    settings: { backoffStrategy: webhookBackoff(ctx.config) },
  };
}
