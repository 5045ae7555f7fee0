// Processor of the clip-finalize queue: checks whether a recording clip can
// close, and looks again shortly if it cannot yet.
import { DelayedError, type Job } from 'bullmq';
import type { Context } from '../src/context.js';
import type { FinalizeJob, Queues } from '../src/jobs/queues.js';
import { finalizeClip } from '../src/clips/finalize.js';

const RECHECK_MS = 1000;

export function finalizeProcessor(ctx: Context, queues: Queues) {
  return async (job: Job<FinalizeJob>, token?: string): Promise<string> => {
    const outcome = await finalizeClip(ctx, queues, job.data.streamId, job.data.clipId);
    if (outcome === 'recording') {
      await job.moveToDelayed(Date.now() + RECHECK_MS, token);
      throw new DelayedError();
    }
    return outcome;
  };
}
