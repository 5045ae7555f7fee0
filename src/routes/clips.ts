// /streaming/streams/{id}/clip_recording: instant clips of a stream.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { createClip, deleteClip, listClips } from '../clips/clips.js';
import { forgetGrants } from '../dvr/grant-memo.js';
import { loadClip, viewClip } from '../clips/records.js';
import { apiKeyAuth, ownStream } from './auth.js';
import { ErrorBody, errorResponses, Clip, ClipCreate, ClipParams, StreamIdParams, type ClipCreateBody } from './schemas.js';
import { HttpError } from './errors.js';
import { idempotencyKeyOf, once } from '../events/idempotency.js';

type WithStreamId = { Params: { stream_id: string } };
type WithClipId = { Params: { stream_id: string; clip_id: string } };

export async function clipRoutes(app: FastifyInstance, { ctx, queues }: { ctx: Context; queues: Queues }): Promise<void> {
  app.addHook('onRequest', apiKeyAuth(ctx));
  const tags = ['clips'];
  const path = '/streaming/streams/:stream_id/clip_recording';

  const create = {
    schema: { tags, params: StreamIdParams, body: ClipCreate, response: { 200: Clip, 422: ErrorBody, ...errorResponses } },
  };
  type CreateRequest = { clientId: number; headers: Record<string, string | string[] | undefined>; params: { stream_id: string }; body: ClipCreateBody };
  const handler = async (request: CreateRequest, reply: FastifyReply) => {
    const key = idempotencyKeyOf(request.headers);
    const stream = await ownStream(ctx, request.clientId, request.params.stream_id);
    // A retried request with the same Idempotency-Key gets the same clip (SPEC 5).
    const answer = await once(ctx, request.clientId, key, `clip:${stream.id}`, request.body, async () =>
      ({ statusCode: 200, body: viewClip(ctx, await createClip(ctx, queues, stream, request.body)) }));
    return reply.status(answer.statusCode).send(answer.body);
  };
  app.put<WithStreamId & { Body: ClipCreateBody }>(path, create, handler);
  app.post<WithStreamId & { Body: ClipCreateBody }>(path, create, handler);

  app.get<WithStreamId>(path, {
    schema: { tags, params: StreamIdParams, response: { 200: Type.Array(Clip), ...errorResponses } },
  }, async (request) => {
    const stream = await ownStream(ctx, request.clientId, request.params.stream_id);
    return (await listClips(ctx, stream.id)).map((c) => viewClip(ctx, c));
  });

  async function ownClip(clientId: number, params: { stream_id: string; clip_id: string }) {
    const stream = await ownStream(ctx, clientId, params.stream_id);
    const clip = await loadClip(ctx, stream.id, params.clip_id);
    if (!clip) throw new HttpError(404, `clip ${params.clip_id} not found (or expired)`);
    return clip;
  }

  app.get<WithClipId>(`${path}/:clip_id`, {
    schema: { tags, params: ClipParams, response: { 200: Clip, ...errorResponses } },
  }, async (request) => viewClip(ctx, await ownClip(request.clientId, request.params)));

  app.delete<WithClipId>(`${path}/:clip_id`, {
    schema: { tags, params: ClipParams, response: errorResponses },
  }, async (request, reply) => {
    const clip = await ownClip(request.clientId, request.params);
    await deleteClip(ctx, clip);
    // Its playback URLs answer 404 at once in this process (others: within GRANT_MEMO_MS).
    forgetGrants(ctx, clip.stream_id, clip.id);
    return reply.status(204).send();
  });
}
