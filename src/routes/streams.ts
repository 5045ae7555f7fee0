// /streaming/streams: a company's streams.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import {
  cleanupDvr, createStream, deleteStream, listStreams, updateStream, viewStream,
} from '../dvr/streams.js';
import { apiKeyAuth, ownStream } from './auth.js';
import { errorResponses, Stream, StreamCreate, StreamIdParams, StreamPatch } from './schemas.js';

type WithStreamId = { Params: { stream_id: string } };

export async function streamRoutes(app: FastifyInstance, { ctx }: { ctx: Context }): Promise<void> {
  app.addHook('onRequest', apiKeyAuth(ctx));
  const tags = ['streams'];

  app.post<{ Body: { name: string; dvr_enabled?: boolean; dvr_duration?: number } }>('/streaming/streams', {
    schema: { tags, body: StreamCreate, response: { 201: Stream, ...errorResponses } },
  }, async (request, reply) => {
    const stream = await createStream(ctx, request.clientId, request.body);
    return reply.status(201).send(await viewStream(ctx, stream));
  });

  app.get('/streaming/streams', { schema: { tags, response: { 200: Type.Array(Stream), ...errorResponses } } }, async (request) => {
    const streams = await listStreams(ctx, request.clientId);
    return Promise.all(streams.map((s) => viewStream(ctx, s)));
  });

  app.get<WithStreamId>('/streaming/streams/:stream_id', {
    schema: { tags, params: StreamIdParams, response: { 200: Stream, ...errorResponses } },
  }, async (request) => viewStream(ctx, await ownStream(ctx, request.clientId, request.params.stream_id)));

  app.patch<WithStreamId & { Body: { name?: string; dvr_enabled?: boolean; dvr_duration?: number } }>('/streaming/streams/:stream_id', {
    schema: { tags, params: StreamIdParams, body: StreamPatch, response: { 200: Stream, ...errorResponses } },
  }, async (request) => {
    const stream = await ownStream(ctx, request.clientId, request.params.stream_id);
    return viewStream(ctx, await updateStream(ctx, stream, request.body));
  });

  app.delete<WithStreamId>('/streaming/streams/:stream_id', {
    schema: { tags, params: StreamIdParams, response: errorResponses },
  }, async (request, reply) => {
    await deleteStream(ctx, await ownStream(ctx, request.clientId, request.params.stream_id));
    return reply.status(204).send();
  });

  app.put<WithStreamId>('/streaming/streams/:stream_id/dvr_cleanup', {
    schema: { tags, params: StreamIdParams, response: errorResponses },
  }, async (request, reply) => {
    await cleanupDvr(ctx, await ownStream(ctx, request.clientId, request.params.stream_id));
    return reply.status(204).send();
  });
}
