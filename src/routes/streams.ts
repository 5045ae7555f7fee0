// /streaming/streams: a company's streams.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import {
  cleanupDvr, createStream, deleteStream, listStreams, updateStream, viewStream, type StreamInput,
} from '../dvr/streams.js';
import { apiKeyAuth, ownStream } from './auth.js';
import { idempotencyKeyOf, once } from '../events/idempotency.js';
import { errorResponses, PageQuery, Stream, StreamCreate, StreamIdParams, StreamPatch } from './schemas.js';

type WithStreamId = { Params: { stream_id: string } };

/**
 * Gcore's SDK wraps an update as {"stream": {...}} (streams.update); plain
 * clients send the fields flat. Both are taken, for create too.
 */
async function unwrapStreamBody(request: FastifyRequest): Promise<void> {
  const body = request.body as Record<string, unknown> | null | undefined;
  if (body && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 1) {
    const inner = body.stream;
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) request.body = inner;
  }
}

export async function streamRoutes(app: FastifyInstance, { ctx }: { ctx: Context }): Promise<void> {
  app.addHook('onRequest', apiKeyAuth(ctx));
  const tags = ['streams'];

  app.post<{ Body: StreamInput }>('/streaming/streams', {
    preValidation: unwrapStreamBody,
    schema: { tags, body: StreamCreate, response: { 201: Stream, ...errorResponses } },
  }, async (request, reply) => {
    const key = idempotencyKeyOf(request.headers);
    const answer = await once(ctx, request.clientId, key, 'stream', request.body, async () =>
      ({ statusCode: 201, body: await viewStream(ctx, await createStream(ctx, request.clientId, request.body)) }));
    return reply.status(answer.statusCode).send(answer.body);
  });

  app.get<{ Querystring: { page?: string; per_page?: string } }>('/streaming/streams', {
    schema: { tags, querystring: PageQuery, response: { 200: Type.Array(Stream), ...errorResponses } },
  }, async (request) => {
    let streams = await listStreams(ctx, request.clientId);
    // Every stream unless a page is asked for (Gcore's SDK sends ?page= only when its caller does).
    if (request.query.page !== undefined || request.query.per_page !== undefined) {
      const perPage = Number(request.query.per_page ?? 100);
      const first = (Number(request.query.page ?? 1) - 1) * perPage;
      streams = streams.slice(first, first + perPage);
    }
    return Promise.all(streams.map((s) => viewStream(ctx, s)));
  });

  app.get<WithStreamId>('/streaming/streams/:stream_id', {
    schema: { tags, params: StreamIdParams, response: { 200: Stream, ...errorResponses } },
  }, async (request) => viewStream(ctx, await ownStream(ctx, request.clientId, request.params.stream_id)));

  app.patch<WithStreamId & { Body: Partial<StreamInput> }>('/streaming/streams/:stream_id', {
    preValidation: unwrapStreamBody,
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
