// The VOD access APIs of SPEC 7.1-7.3 (login, segments, records, download
// links). Keys are loaded once here and shared by the route families, each of
// which is its own encapsulated plugin with its own error envelope.
import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { DownloadTokens } from '../tenancy/download-tokens.js';
import { UserTokens } from '../tenancy/user-tokens.js';
import { vodStorage } from '../vod/storage.js';
import { distributionRoutes } from './distribution.js';
import { loginRoutes } from './vod-login.js';
import { recordRoutes } from './vod-records.js';
import { segmentRoutes } from './vod-segments.js';

export async function vodAccessRoutes(app: FastifyInstance, { ctx }: { ctx: Context }): Promise<void> {
  const tokens = await UserTokens.load(ctx);
  const downloads = await DownloadTokens.load(ctx);
  const storage = vodStorage(ctx.config);

  await app.register(loginRoutes, { ctx, tokens });
  await app.register(segmentRoutes, { ctx, tokens, storage });
  await app.register(recordRoutes, { ctx, tokens, downloads });
  await app.register(distributionRoutes, { ctx, downloads, storage });

  // The public half of the download-link key, for edge servers.
  app.get('/.well-known/jwks.json', { schema: { tags: ['vod access'], security: [] } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(downloads.jwks));
}
