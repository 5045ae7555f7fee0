// A clip with vod_required gets its promotion job once it is ready. The job
// id is derived from the video id, so however often a clip is finalized (a
// retried finalize job, two workers) the promotion is queued once.
import type { ReadyHooks } from '../clips/ready-hooks.js';
import type { ClipRecord } from '../clips/records.js';
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';

export const promotionJobId = (videoId: number) => `vod-${videoId}`;

export async function enqueuePromotion(queues: Queues, videoId: number): Promise<void> {
  await queues.vodPromote.add('promote', { videoId }, { jobId: promotionJobId(videoId) });
}

async function promoteWhenReady(ctx: Context, queues: Queues, clip: ClipRecord): Promise<void> {
  if (!clip.vod_required || clip.video_id === null) return;
  // A precise clip is promoted once its precise build is over (src/precise/job.ts runs the hooks again then).
  if (clip.precise && !clip.preciseDone) return;
  await enqueuePromotion(queues, clip.video_id);
  ctx.log.info({ clip_id: clip.id, video_id: clip.video_id }, 'vod promotion queued');
}

/** Registers the promotion among a service's ready-clip hooks (src/service.ts). */
export function installVodPromotion(hooks: ReadyHooks): void {
  hooks.add(promoteWhenReady);
}
