// Processor of the vod-promote queue: one job per VOD (job id vod-{video_id}).
// Transient faults are retried with backoff (the queue's defaults); a
// promotion that can never succeed ends the VOD in `error` at once.
import { UnrecoverableError, type Job, type WorkerOptions } from 'bullmq';
import type { Config } from '../src/config.js';
import type { Context } from '../src/context.js';
import type { VodPromoteJob } from '../src/jobs/queues.js';
import { remuxTsToMp4 } from '../src/mp4/remux.js';
import { PermanentVodError } from '../src/vod/plan.js';
import { promoteVideo, type PromoteOutcome } from '../src/vod/promote.js';
import { loadVideo } from '../src/vod/records.js';
import { vodStorage } from '../src/vod/storage.js';
import { failVideo } from '../src/vod/videos.js';
import { releaseVodHold } from '../src/vod/hold.js';

export function vodProcessor(ctx: Context) {
  const storage = vodStorage(ctx.config);
  return async (job: Job<VodPromoteJob>, _token?: string, signal?: AbortSignal): Promise<PromoteOutcome> => {
    try {
      return await promoteVideo(ctx, job.data.videoId, {
        storage, remux: remuxTsToMp4, signal, onProgress: (percent) => job.updateProgress(percent),
      });
    } catch (err) {
      if (!(err instanceof PermanentVodError)) throw err;
      await failVideo(ctx, job.data.videoId, err.message);
      await releaseHoldOf(ctx, job.data.videoId);
      throw new UnrecoverableError(err.message);
    }
  };
}

/** A promotion that will not be tried again keeps the clip's chunks no longer. */
async function releaseHoldOf(ctx: Context, videoId: number): Promise<void> {
  const video = await loadVideo(ctx, videoId);
  if (video) await releaseVodHold(ctx, video);
}

/** A job out of attempts (or stalled too often) leaves its VOD in `error`, with the last reason. */
export function vodJobFailed(ctx: Context) {
  return (job: Job<VodPromoteJob> | undefined, err: Error): void => {
    if (!job) return;
    void (async () => {
      if (!(await job.isFailed())) return; // a retry is coming
      const video = await loadVideo(ctx, job.data.videoId);
      if (video && video.status !== 'ready' && video.status !== 'error') {
        await failVideo(ctx, video.id, `promotion failed after ${job.attemptsMade} attempts: ${err.message}`);
      }
      if (video) await releaseVodHold(ctx, video);
    })().catch((e) => ctx.log.error({ err: e, video_id: job.data.videoId }, 'marking a failed vod failed'));
  };
}

/** A worker that dies is noticed after about JOB_LOCK_MS; a VOD survives a few such deaths. */
export function vodWorkerOptions(config: Config): Partial<WorkerOptions> {
  return {
    concurrency: config.vodConcurrency,
    lockDuration: config.jobLockMs,
    stalledInterval: config.jobLockMs,
    maxStalledCount: 3,
  };
}
