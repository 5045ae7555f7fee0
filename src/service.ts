// Wires one process: Redis connection, scripts, queues, the HTTP app and the
// workers, according to the role. main.ts and the tests both start it here.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { systemClock, type Clock, type Context } from './context.js';
import { createQueues, type Queues } from './jobs/queues.js';
import { createLogger } from './logging.js';
import { closeRedis, connectRedis } from './redis/connection.js';
import { RedisHealth } from './redis/health.js';
import { within } from './util/within.js';
import { makeKeys } from './redis/keys.js';
import { defineScripts } from './redis/scripts.js';
import { RenditionProbes } from './dvr/rendition-probe.js';
import { ReadyHooks } from './clips/ready-hooks.js';
import { prebuildWhenReady } from './mp4/prebuild.js';
import { installVodPromotion } from './vod/hook.js';
import { queuePreciseWhenReady } from './precise/job.js';
import { installEvents, uninstallEvents } from './events/announce.js';
import { reconcileVods } from './vod/reconcile.js';
import { vodStorage } from './vod/storage.js';
import { createMp4Service, killAllFfmpeg, type Mp4Service } from './mp4/index.js';
import { startWorkers, type Workers } from '../workers/index.js';
import { killThumbnailFfmpeg } from './thumbs/ffmpeg.js';
import { stopTiles } from './thumbs/tiles.js';
import { loopbackIngestBase, startGateways, type Gateways } from './gateways/index.js';

export interface Service {
  ctx: Context;
  queues: Queues;
  app?: FastifyInstance;
  workers?: Workers;
  mp4: Mp4Service;
  health: RedisHealth;
  gateways?: Gateways;
  close(): Promise<void>;
}

export async function startService(config: Config, opts: { clock?: Clock; log?: Logger; responseHeaders?: Record<string, string> } = {}): Promise<Service> {
  const log = opts.log ?? createLogger(config.logLevel);
  const health = new RedisHealth(log);
  // Requests wait on these two, so they fail fast while Redis is away (503);
  // the workers open patient ones of their own.
  const connect = async (name: string, failFast: boolean) => health.watch(await connectRedis(config.redisUrl, name, {
    cluster: config.redisCluster, failFastMs: failFast ? config.redisCommandTimeoutMs : undefined,
  }), name);
  const redis = await connect(`dvr-${config.role}`, true);
  defineScripts(redis);
  // The process-wide registries are made here, per service, and reach every part through the context.
  const ctx: Context = {
    config, redis, keys: makeKeys(config.keyPrefix), log, clock: opts.clock ?? systemClock,
    readyHooks: new ReadyHooks(), probes: new RenditionProbes(),
  };
  const queueConnection = await connect(`dvr-${config.role}-queues`, true);
  const queues = createQueues(queueConnection, ctx.keys);
  for (const queue of [queues.finalize, queues.cleaner, queues.vodPromote, queues.precise, queues.webhooks, queues.webhookSweep]) {
    queue.on('error', (err) => health.report(`queue ${queue.name}`, err));
  }
  // Every role: a worker that finalizes a clip prebuilds its MP4 into the shared DATA_DIR.
  const mp4 = await createMp4Service(ctx);
  ctx.readyHooks.add(prebuildWhenReady);
  ctx.readyHooks.add(queuePreciseWhenReady);
  installVodPromotion(ctx.readyHooks);
  installEvents(ctx, queues);
  // Before the workers take jobs: VOD records Redis lost come back from their manifests.
  if (config.role !== 'api') await reconcileVods(ctx, vodStorage(config));
  const workers = config.role !== 'api' ? await startWorkers(ctx, queues, { health, connect: (name) => connect(name, false) }) : undefined;
  const app = config.role !== 'worker'
    ? await buildApp({ ctx, queues, readiness: { workersRunning: () => workers?.running() ?? true }, mp4: mp4.handler, responseHeaders: opts.responseHeaders })
    : undefined;
  // RTMP/SRT/pull feed the HTTP ingest of this process's app.
  const gateways = app ? await startGateways(ctx, loopbackIngestBase(ctx, app)) : undefined;
  return {
    ctx,
    gateways,
    queues,
    app,
    workers,
    mp4,
    health,
    async close() {
      // Stop taking requests, let running jobs finish, then let go of Redis.
      // MP4 builds first: a request waiting for one answers 503 at once
      // instead of holding the shutdown for the ffmpeg timeout.
      await mp4.close();
      // Gateway packagers push their last chunk through the app: before it closes.
      await gateways?.close();
      await app?.close();
      // Probes started by the last pushes still write what they learn.
      await ctx.probes.settled();
      // ffmpeg children left (a VOD job's remux) end now; BullMQ retries that job.
      killAllFfmpeg();
      stopTiles();
      killThumbnailFfmpeg();
      // With Redis away no job can finish: they are left to be retried.
      await workers?.close(health.down ? 0 : config.shutdownTimeoutMs);
      uninstallEvents(ctx);
      await within(queues.close(), 2000);
      await closeRedis(queueConnection);
      await closeRedis(redis);
    },
  };
}

