// POST /api/um-get-hls-segment/{video_id}/{segment} (SPEC 7.2, seed 000):
// one chunk of a rendition video, for a user token sent in the JSON body.
// Every answer but 200 is one of the seed's four envelopes, so this family
// has its own error handler and body parser:
// - 401: no usable token. That includes every body problem (not JSON, no
//   user_token, not a string, too large): the body holds nothing but the
//   token, and the seed's clients know no 400.
// - 403: unknown video, another company's, or an id of the wrong shape.
// - 404: segment not a positive integer, or past the last one.
// - 500: anything else (storage); nothing of it reaches the client.
// The token's signature and expiry are checked first (preValidation), so
// without a valid one nothing is told; that its user still exists is checked
// with the video lookup, so a deleted user's token on a malformed URL gets
// that URL's 403/404 (never any data).
import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { VodDirectory } from '../access/vod-directory.js';
import type { UserClaims, UserTokens } from '../tenancy/user-tokens.js';
import { Lru } from '../util/lru.js';
import { vodLayout } from '../vod/layout.js';
import type { VodStorage } from '../vod/storage.js';
import { parseAnyBodyAsJson, segmentError, SegmentErrorBody, type SegmentErrorStatus } from './vod-envelopes.js';
import { isRedisUnavailable } from '../redis/health.js';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    vodUser?: UserClaims;
  }
}

const Params = Type.Object({
  // Checked in this order: a bad video id answers 403 before a bad segment's 404.
  video_id: Type.String({ pattern: '^vid-[A-Za-z0-9]{20,64}$', description: 'a rendition video id' }),
  segment: Type.String({ pattern: '^[1-9][0-9]{0,8}$', description: 'counts from 1 in playlist order' }),
});
const Body = Type.Object({ user_token: Type.String({ description: 'the access_token of /api/v3/authenticate' }) });
const MAX_BODY = 8 * 1024;
const CACHED_SIZES = 100_000;
// Segments that one read of the storage stream holds (64 KiB, its default
// highWaterMark) are collected and sent as one buffer: for such small files,
// handing Fastify a stream to pipe costs more than the read itself (~45 µs
// of ~230 per request, see scripts/bench-segments.ts). Bigger ones are
// streamed with backpressure, which is then the cheaper way too.
const WHOLE_READ_MAX = 64 * 1024;

async function readWhole(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function send(reply: FastifyReply, status: SegmentErrorStatus): FastifyReply {
  // A failure while a file stream was being set up leaves its headers behind.
  if (status === 503) reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  return reply.status(status).removeHeader('content-length').type('application/json; charset=utf-8')
    .header('cache-control', 'no-store').send(segmentError(status));
}

function statusOf(err: FastifyError): SegmentErrorStatus {
  if (isRedisUnavailable(err)) return 503;
  if (err.validation) {
    if (err.validationContext !== 'params') return 401;
    return err.validation[0]?.instancePath === '/video_id' ? 403 : 404;
  }
  const code = err.statusCode ?? 500;
  return code >= 400 && code < 500 ? 401 : 500; // 4xx here can only come from reading the body
}

export async function segmentRoutes(
  app: FastifyInstance, { ctx, tokens, storage }: { ctx: Context; tokens: UserTokens; storage: VodStorage },
): Promise<void> {
  const directory = new VodDirectory(ctx);
  // The files of a ready VOD never change, so each size is asked of storage once.
  const sizes = new Lru<number>(CACHED_SIZES);
  const sizeOf = async (file: string): Promise<number> => {
    const known = sizes.get(file);
    if (known !== undefined) return known;
    const stored = await storage.stat(file);
    if (!stored || stored.size === 0) throw new Error(`a ready VOD lacks ${file}`);
    sizes.set(file, stored.size);
    return stored.size;
  };
  parseAnyBodyAsJson(app, MAX_BODY);
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = statusOf(err);
    if (status === 500) request.log.error({ err }, 'segment request failed');
    return send(reply, status);
  });

  app.addHook('preValidation', async (request: FastifyRequest, reply) => {
    const body = request.body as { user_token?: unknown } | undefined;
    const user = await tokens.verify(body?.user_token);
    if (!user) return send(reply, 401);
    request.vodUser = user;
  });

  app.post<{ Params: { video_id: string; segment: string }; Body: { user_token: string } }>(
    '/api/um-get-hls-segment/:video_id/:segment',
    {
      bodyLimit: MAX_BODY,
      schema: {
        tags: ['vod access'],
        summary: 'One HLS segment of a rendition video (seed 000)',
        security: [],
        params: Params,
        body: Body,
        response: { 401: SegmentErrorBody, 403: SegmentErrorBody, 404: SegmentErrorBody, 500: SegmentErrorBody },
      },
    },
    async (request, reply) => {
      const found = await directory.rendition(request.vodUser!, request.params.video_id);
      if (found.kind === 'no-user') return send(reply, 401);
      if (found.kind === 'not-found') return send(reply, 403);
      const { video, rendition } = found;
      const segment = Number(request.params.segment);
      if (video.status !== 'ready' || segment > rendition.segments) return send(reply, 404);
      const file = vodLayout.chunk(video.id, rendition.rendition, segment);
      const size = await sizeOf(file);
      // The exact range spares the read that would only find the end of the file.
      const range = { start: 0, end: size - 1 };
      const stream = storage.createReadStream(file, range);
      const body = size <= WHOLE_READ_MAX ? await readWhole(stream) : stream;
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(size))
        .header('cache-control', 'private, max-age=3600')
        .send(body);
    },
  );
}
