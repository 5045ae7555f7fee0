// The BullMQ queues. Their prefix carries a hash tag so each queue's keys
// share one Redis Cluster slot.
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.js';
import type { DeliveryJob } from '../events/types.js';

export interface FinalizeJob { streamId: number; clipId: string }
export interface VodPromoteJob { videoId: number }
export interface PreciseJob { streamId: number; clipId: string }

export const QUEUE_NAMES = { finalize: 'clip-finalize', cleaner: 'dvr-cleaner', vodPromote: 'vod-promote', webhooks: 'webhook-deliver', webhookSweep: 'webhook-sweep', precise: 'clip-precise' } as const;

export interface Queues {
  finalize: Queue<FinalizeJob>;
  cleaner: Queue;
  vodPromote: Queue<VodPromoteJob>;
  webhooks: Queue<DeliveryJob>;
  webhookSweep: Queue;
  precise: Queue<PreciseJob>;
  close(): Promise<void>;
}

export function createQueues(connection: Redis, keys: Keys): Queues {
  const opts = {
    connection: connection as ConnectionOptions,
    prefix: keys.queuePrefix,
    defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000, attempts: 5, backoff: { type: 'exponential', delay: 1000 } },
  };
  const finalize = new Queue<FinalizeJob>(QUEUE_NAMES.finalize, opts);
  const cleaner = new Queue(QUEUE_NAMES.cleaner, opts);
  const vodPromote = new Queue<VodPromoteJob>(QUEUE_NAMES.vodPromote, opts);
  const webhooks = new Queue<DeliveryJob>(QUEUE_NAMES.webhooks, opts);
  const webhookSweep = new Queue(QUEUE_NAMES.webhookSweep, { ...opts, defaultJobOptions: { removeOnComplete: 10, removeOnFail: 100 } });
  const precise = new Queue<PreciseJob>(QUEUE_NAMES.precise, opts);
  return {
    finalize,
    cleaner,
    vodPromote,
    webhooks,
    webhookSweep,
    precise,
    async close() {
      await Promise.all([finalize.close(), cleaner.close(), vodPromote.close(), webhooks.close(), webhookSweep.close(), precise.close()]);
    },
  };
}
