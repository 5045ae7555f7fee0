// Wires one process: Redis connection, scripts, queues, the HTTP app and the
// workers, according to the role. main.ts and the tests both start it here.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { systemClock, type Clock, type Context } from './context.js';
import { createQueues, type Queues } from './jobs/queues.js';
import { createLogger } from './logging.js';
import { connectRedis } from './redis/connection.js';
import { makeKeys } from './redis/keys.js';
import { defineScripts } from './redis/scripts.js';
import { probesSettled } from './dvr/rendition-probe.js';
import { installVodPromotion } from './vod/hook.js';
import { reconcileVods } from './vod/reconcile.js';
import { vodStorage } from './vod/storage.js';
import { createMp4Service, killAllFfmpeg, type Mp4Service } from './mp4/index.js';
import { startWorkers, type Workers } from '../workers/index.js';
import { killThumbnailFfmpeg } from './thumbs/ffmpeg.js';
import { stopTiles } from './thumbs/tiles.js';

export interface Service {
  ctx: Context;
  queues: Queues;
  app?: FastifyInstance;
  workers?: Workers;
  mp4: Mp4Service;
  close(): Promise<void>;
}

export async function startService(config: Config, opts: { clock?: Clock; log?: Logger } = {}): Promise<Service> {
  const log = opts.log ?? createLogger(config.logLevel);
  const redis = await connectRedis(config.redisUrl, `dvr-${config.role}`, { cluster: config.redisCluster });
  defineScripts(redis);
  const ctx: Context = { config, redis, keys: makeKeys(config.keyPrefix), log, clock: opts.clock ?? systemClock };
  const queueConnection = redis.duplicate();
  const queues = createQueues(queueConnection, ctx.keys);
  // Every role: a worker that finalizes a clip prebuilds its MP4 into the shared DATA_DIR.
  const mp4 = await createMp4Service(ctx);
  installVodPromotion();
  // Before the workers take jobs: VOD records Redis lost come back from their manifests.
  if (config.role !== 'api') await reconcileVods(ctx, vodStorage(config));
  const workers = config.role !== 'api' ? await startWorkers(ctx, queues) : undefined;
  const app = config.role !== 'worker'
    ? await buildApp({ ctx, queues, readiness: { workersRunning: () => workers?.running() ?? true }, mp4: mp4.handler })
    : undefined;
  return {
    ctx,
    queues,
    app,
    workers,
    mp4,
    async close() {
      // Stop taking requests, let running jobs finish, then let go of Redis.
      // MP4 builds first: a request waiting for one answers 503 at once
      // instead of holding the shutdown for the ffmpeg timeout.
      await mp4.close();
      await app?.close();
      // Probes started by the last pushes still write what they learn.
      await probesSettled();
      // ffmpeg children left (a VOD job's remux) end now; BullMQ retries that job.
      killAllFfmpeg();
      stopTiles();
      killThumbnailFfmpeg();
      await workers?.close();
      await queues.close();
      await queueConnection.quit().catch(() => undefined);
      await redis.quit().catch(() => undefined);
    },
  };
}
