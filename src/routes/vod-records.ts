// GET /api/v3/records/{recordID} and /api/v3/records/download/{recordID}/{videoID}
// (SPEC 7.3, seed 003). A recording is a VOD; its videos are the rendition
// videos. The user's access token comes only as the `access_token` query
// parameter: one sent anywhere else (a header, a body) counts as missing.
// Errors: 401 {error: {code, message}}, 404 the seed's RFC 2616 body (also for
// ids of the wrong shape, and for another company's records).
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { downloadUrl } from '../access/downloads.js';
import { VodDirectory } from '../access/vod-directory.js';
import { NUMERIC_ID_PATTERN } from '../ids.js';
import type { DownloadTokens } from '../tenancy/download-tokens.js';
import type { UserTokens } from '../tenancy/user-tokens.js';
import {
  apiError, ApiErrorBody, BAD_TOKEN, NO_TOKEN, NOT_FOUND, NotFoundBody,
} from './vod-envelopes.js';
import { isRedisUnavailable } from '../redis/health.js';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.js';
import { UNAVAILABLE_TEXT } from './vod-envelopes.js';

const RecordParams = Type.Object({ recordID: Type.String({ pattern: NUMERIC_ID_PATTERN, description: 'the video_id of a VOD' }) });
const DownloadParams = Type.Object({
  recordID: Type.String({ pattern: NUMERIC_ID_PATTERN, description: 'the video_id of a VOD' }),
  videoID: Type.String({ pattern: '^vid-[A-Za-z0-9]{20,64}$', description: 'a rendition video id' }),
});
const Query = Type.Object({ access_token: Type.Optional(Type.String({ description: 'from /api/v3/authenticate' })) });

const Record = Type.Object({
  data: Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    created_at: Type.String(),
    duration: Type.Integer({ description: 'milliseconds' }),
    videos: Type.Array(Type.Object({ id: Type.String(), rendition: Type.String(), height: Type.Integer(), width: Type.Integer() })),
  }),
});
const DownloadLink = Type.Object({ url: Type.String() });
const responses = { 401: ApiErrorBody, 404: NotFoundBody, 500: ApiErrorBody };

function notFound(reply: FastifyReply): FastifyReply {
  return reply.status(404).send(NOT_FOUND);
}

export async function recordRoutes(
  app: FastifyInstance, { ctx, tokens, downloads }: { ctx: Context; tokens: UserTokens; downloads: DownloadTokens },
): Promise<void> {
  const directory = new VodDirectory(ctx);
  app.setErrorHandler((err: FastifyError, request, reply) => {
    // Only the path can fail validation once the token has passed: a bad id is an unknown one.
    if (err.validation) return notFound(reply);
    if (isRedisUnavailable(err)) return reply.status(503).header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS)).send(apiError(503, UNAVAILABLE_TEXT));
    request.log.error({ err }, 'records request failed');
    return reply.status(500).send(apiError(500, 'Internal server error'));
  });

  app.addHook('preValidation', async (request: FastifyRequest, reply) => {
    reply.header('cache-control', 'no-store');
    const token = (request.query as { access_token?: unknown }).access_token;
    if (token === undefined || token === '') return reply.status(401).send(apiError(401, NO_TOKEN));
    const user = await tokens.verify(token);
    if (!user) return reply.status(401).send(apiError(401, BAD_TOKEN));
    request.vodUser = user;
  });

  const schema = { tags: ['vod access'], security: [], querystring: Query };

  app.get<{ Params: { recordID: string } }>('/api/v3/records/:recordID', {
    schema: { ...schema, summary: 'A recording and its videos', params: RecordParams, response: { 200: Record, ...responses } },
  }, async (request, reply) => {
    const found = await directory.video(request.vodUser!, Number(request.params.recordID));
    if (found.kind === 'no-user') return reply.status(401).send(apiError(401, BAD_TOKEN));
    if (found.kind === 'not-found') return notFound(reply);
    const { video } = found;
    return {
      data: {
        id: video.id,
        name: video.name,
        created_at: video.created_at,
        duration: video.duration,
        videos: video.videos.map((r) => ({ id: r.id, rendition: r.rendition, height: r.height, width: r.width })),
      },
    };
  });

  app.get<{ Params: { recordID: string; videoID: string } }>('/api/v3/records/download/:recordID/:videoID', {
    schema: { ...schema, summary: 'A download URL for one video of a recording', params: DownloadParams, response: { 200: DownloadLink, ...responses } },
  }, async (request, reply) => {
    const found = await directory.video(request.vodUser!, Number(request.params.recordID));
    if (found.kind === 'no-user') return reply.status(401).send(apiError(401, BAD_TOKEN));
    if (found.kind === 'not-found') return notFound(reply);
    const rendition = found.video.videos.find((r) => r.id === request.params.videoID);
    // The MP4 exists once the VOD is ready.
    if (!rendition || found.video.status !== 'ready') return notFound(reply);
    return { url: await downloadUrl(ctx, downloads, found.video, rendition) };
  });
}
