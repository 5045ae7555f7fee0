// Builds the Fastify application. Tests build it and call inject() or
// listen on 127.0.0.1; main.ts listens on the configured port.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Context } from './context.js';
import { lazyRequestLogger } from './logging.js';
import type { Queues } from './jobs/queues.js';
import { clipRoutes } from './routes/clips.js';
import { answerBadUrl } from './routes/families.js';
import { installErrorHandler } from './routes/errors.js';
import { PlaylistFastPath, serverWithFastPath } from './routes/fast-playback.js';
import { ingestRoutes } from './routes/ingest.js';
import { opsRoutes, type Readiness } from './routes/ops.js';
import { playbackRoutes, type Mp4Handler } from './routes/playback.js';
import { cutSlowBodies, serverTimeouts } from './routes/slow-clients.js';
import { streamRoutes } from './routes/streams.js';
import { thumbRoutes } from './routes/thumbs.js';
import { studioRoutes } from './studio/plugin.js';
import { videoRoutes } from './routes/videos.js';
import { webhookRoutes } from './routes/webhooks.js';
import { vodFileRoutes } from './routes/vod-files.js';
import { vodAccessRoutes } from './routes/vod-access.js';

export interface AppOptions {
  ctx: Context;
  queues: Queues;
  readiness?: Readiness;
  mp4?: Mp4Handler;
  /** Headers every answer carries (the answering process, in multi-process mode). */
  responseHeaders?: Record<string, string>;
}

export async function buildApp({ ctx, queues, readiness, mp4, responseHeaders = {} }: AppOptions): Promise<FastifyInstance> {
  const fastPath = new PlaylistFastPath(ctx, responseHeaders);
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    bodyLimit: ctx.config.maxBodyBytes,
    // Types are checked, never coerced: "30" is not a duration.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    // A path the router cannot decode is answered in its API family's envelope.
    frameworkErrors: answerBadUrl,
    ...serverTimeouts(ctx.config),
    childLoggerFactory: (logger, bindings, opts) => lazyRequestLogger(logger as Logger, bindings, opts) as FastifyBaseLogger,
    serverFactory: serverWithFastPath(fastPath),
  });
  app.addHook('preClose', async () => fastPath.close());
  for (const [name, value] of Object.entries(responseHeaders)) app.addHook('onRequest', async (_request, reply) => void reply.header(name, value));
  cutSlowBodies(app, ctx.config);
  // ffmpeg half-closes its upload connection right after the last body
  // chunk; Node would then abort the request before an async hook lets the
  // body be read. Keeping half-open sockets lets the upload finish.
  (app.server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  installErrorHandler(app);
  await app.register(swagger, {
    openapi: {
      info: { title: 'DVR clipping media engine', version: '0.1.0', description: 'Live DVR, instant clips, VOD.' },
      components: { securitySchemes: { apikey: { type: 'apiKey', in: 'header', name: 'Authorization' } } },
      security: [{ apikey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(opsRoutes, { ctx, queues, readiness: readiness ?? { workersRunning: () => true } });
  await app.register(streamRoutes, { ctx });
  await app.register(clipRoutes, { ctx, queues });
  await app.register(ingestRoutes, { ctx });
  await app.register(playbackRoutes, { ctx, mp4 });
  await app.register(thumbRoutes, { ctx });
  await app.register(studioRoutes);
  await app.register(videoRoutes, { ctx });
  await app.register(webhookRoutes, { ctx, queues });
  await app.register(vodFileRoutes, { ctx });
  await app.register(vodAccessRoutes, { ctx });
  return app;
}
