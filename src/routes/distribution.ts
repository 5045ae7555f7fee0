// GET /distribution/{recordID}/{file}.mp4?filename=…&access_token=… (SPEC 7.3):
// the MP4 of one rendition video, for the download token made for exactly
// that path. Streamed from VOD storage (never read whole), with single byte
// ranges. 401 missing/bad/expired/edited token, 403 a token for another
// file, 404 the file is gone; JSON bodies in seed 003's envelopes.
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Context } from '../context.js';
import { downloadFilename, findDownload } from '../access/downloads.js';
import { NUMERIC_ID_PATTERN } from '../ids.js';
import { contentDisposition } from '../mp4/http-rules.js';
import type { DownloadTokens } from '../tenancy/download-tokens.js';
import { sendRange } from '../util/send-range.js';
import type { VodStorage } from '../vod/storage.js';
import { apiError, ApiErrorBody, BAD_TOKEN, NO_TOKEN, NOT_FOUND, NotFoundBody } from './vod-envelopes.js';
import { isRedisUnavailable } from '../redis/health.js';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.js';
import { UNAVAILABLE_TEXT } from './vod-envelopes.js';

function fail(reply: FastifyReply, status: number, body: object): FastifyReply {
  return reply.status(status).removeHeader('content-length').removeHeader('content-disposition')
    .type('application/json; charset=utf-8').header('cache-control', 'no-store').send(body);
}

const Params = Type.Object({
  recordID: Type.String({ pattern: NUMERIC_ID_PATTERN }),
  file: Type.String({ pattern: '^vid-[A-Za-z0-9]{20,64}\\.mp4$' }),
});
const Query = Type.Object({
  filename: Type.Optional(Type.String({ maxLength: 1000, description: 'the name to save the file as' })),
  access_token: Type.Optional(Type.String({ description: 'the download token of the URL' })),
});

export async function distributionRoutes(
  app: FastifyInstance, { ctx, downloads, storage }: { ctx: Context; downloads: DownloadTokens; storage: VodStorage },
): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      // A path of the wrong shape never gets past the token check; a bad query does.
      if (err.validationContext === 'params') return fail(reply, 404, NOT_FOUND);
      return fail(reply, 400, apiError(400, `invalid request: ${err.message}`));
    }
    if (isRedisUnavailable(err)) {
      return fail(reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS)), 503, apiError(503, UNAVAILABLE_TEXT));
    }
    request.log.error({ err }, 'distribution request failed');
    return fail(reply, 500, apiError(500, 'Internal server error'));
  });

  // The token first, so that without one nothing about the file is told.
  app.addHook('preValidation', async (request, reply) => {
    const { recordID, file } = request.params as { recordID: string; file: string };
    const token = (request.query as { access_token?: unknown }).access_token;
    if (token === undefined || token === '') return fail(reply, 401, apiError(401, NO_TOKEN));
    if (typeof token !== 'string') return fail(reply, 401, apiError(401, BAD_TOKEN));
    // The token names the path it was made for, compared as the router decoded it.
    const check = await downloads.check(token, `/distribution/${recordID}/${file}`);
    if (check === 'invalid') return fail(reply, 401, apiError(401, BAD_TOKEN));
    if (check === 'other-file') return fail(reply, 403, apiError(403, 'The access token is for another file.'));
  });

  app.get<{ Params: { recordID: string; file: string }; Querystring: { filename?: string } }>('/distribution/:recordID/:file', {
    schema: {
      tags: ['vod access'],
      summary: 'Download one video of a recording (the URL from /api/v3/records/download)',
      security: [],
      params: Params,
      querystring: Query,
      response: { 400: ApiErrorBody, 401: ApiErrorBody, 403: ApiErrorBody, 404: NotFoundBody, 416: ApiErrorBody, 500: ApiErrorBody },
    },
  }, async (request, reply) => {
    const download = await findDownload(ctx, request.params.recordID, request.params.file);
    if (!download) return fail(reply, 404, NOT_FOUND);
    const stored = await storage.stat(download.file);
    if (!stored) throw new Error(`VOD ${download.video.id} is ready but ${download.file} is missing`);

    const disposition = contentDisposition(downloadFilename(request.query.filename, download.video.name));
    reply
      .header('content-type', 'video/mp4')
      .header('accept-ranges', 'bytes')
      .header('cache-control', 'private, max-age=1800')
      .header('last-modified', new Date(stored.mtimeMs).toUTCString());
    if (disposition.ok && disposition.disposition) reply.header('content-disposition', disposition.disposition);

    return sendRange(reply, stored.size, request.headers.range, {
      body: (range) => storage.createReadStream(download.file, range),
      unsatisfiable: (r) => fail(r, 416, apiError(416, 'Range Not Satisfiable')),
    });
  });
}
