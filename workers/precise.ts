// Processor of the clip-precise queue (src/precise/job.ts).
import type { Job } from 'bullmq';
import type { Context } from '../src/context.js';
import type { PreciseJob, Queues } from '../src/jobs/queues.js';
import { runPreciseJob } from '../src/precise/job.js';

export function preciseProcessor(ctx: Context, queues: Queues) {
  return async (job: Job<PreciseJob>): Promise<string> => {
    const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    return runPreciseJob(ctx, queues, job.data.streamId, job.data.clipId, finalAttempt);
  };
}
