// /streaming/videos: the company's permanent VODs (clips made with vod_required).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { findVideo, listVideos, viewVideo } from '../vod/records.js';
import { vodStorage } from '../vod/storage.js';
import { deleteVideo } from '../vod/videos.js';
import { apiKeyAuth } from './auth.js';
import { HttpError } from './errors.js';
import { errorResponses, Video, VideoIdParams, VideoListQuery } from './schemas.js';

type WithVideoId = { Params: { video_id: string } };
type WithListQuery = { Querystring: { page?: string; per_page?: string; stream_id?: string } };

export async function videoRoutes(app: FastifyInstance, { ctx }: { ctx: Context }): Promise<void> {
  app.addHook('onRequest', apiKeyAuth(ctx));
  const storage = vodStorage(ctx.config);
  const tags = ['videos'];

  async function own(clientId: number, videoId: string) {
    const video = await findVideo(ctx, clientId, Number(videoId));
    if (!video) throw new HttpError(404, `video ${videoId} not found`);
    return video;
  }

  app.get<WithListQuery>('/streaming/videos', {
    schema: { tags, querystring: VideoListQuery, response: { 200: Type.Array(Video), ...errorResponses } },
  }, async (request) => {
    const page = Number(request.query.page ?? 1);
    const perPage = Number(request.query.per_page ?? 100);
    const streamId = request.query.stream_id === undefined ? undefined : Number(request.query.stream_id);
    // A plain array, as Gcore's API answers it (gcore-python reads it as one page of items).
    return (await listVideos(ctx, request.clientId, page, perPage, streamId)).map((v) => viewVideo(ctx, v));
  });

  app.get<WithVideoId>('/streaming/videos/:video_id', {
    schema: { tags, params: VideoIdParams, response: { 200: Video, ...errorResponses } },
  }, async (request) => viewVideo(ctx, await own(request.clientId, request.params.video_id)));

  app.delete<WithVideoId>('/streaming/videos/:video_id', {
    schema: { tags, params: VideoIdParams, response: errorResponses },
  }, async (request, reply) => {
    await deleteVideo(ctx, storage, await own(request.clientId, request.params.video_id));
    return reply.status(204).send();
  });
}
