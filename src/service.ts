// Wires one process: Redis connection, scripts, queues, the HTTP app and the
// workers, according to the role. main.ts and the tests both start it here.
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { systemClock, type Clock, type Context } from './context.js';
import { createQueues, type Queues } from './jobs/queues.js';
import { connectRedis } from './redis/connection.js';
import { makeKeys } from './redis/keys.js';
import { defineScripts } from './redis/scripts.js';
import { startWorkers, type Workers } from '../workers/index.js';

export interface Service {
  ctx: Context;
  queues: Queues;
  app?: FastifyInstance;
  workers?: Workers;
  close(): Promise<void>;
}

export async function startService(config: Config, opts: { clock?: Clock; log?: Logger } = {}): Promise<Service> {
  const log = opts.log ?? pino({
    level: config.logLevel,
    redact: ['req.headers.authorization', 'api_key', 'password', 'access_token', 'user_token'],
  });
  const redis = await connectRedis(config.redisUrl, `dvr-${config.role}`);
  defineScripts(redis);
  const ctx: Context = { config, redis, keys: makeKeys(config.keyPrefix), log, clock: opts.clock ?? systemClock };
  const queueConnection = redis.duplicate();
  const queues = createQueues(queueConnection, ctx.keys);
  const workers = config.role !== 'api' ? await startWorkers(ctx, queues) : undefined;
  const app = config.role !== 'worker'
    ? await buildApp({ ctx, queues, readiness: { workersRunning: () => workers?.running() ?? true } })
    : undefined;
  return {
    ctx,
    queues,
    app,
    workers,
    async close() {
      // Stop taking requests, let running jobs finish, then let go of Redis.
      await app?.close();
      await workers?.close();
      await queues.close();
      await queueConnection.quit().catch(() => undefined);
      await redis.quit().catch(() => undefined);
    },
  };
}
