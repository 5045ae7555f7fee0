// URLs the router refuses before any route runs: a path with a bad
// percent-encoding (%ZZ) or a path parameter over the router's length limit.
// Fastify would answer those with its own body; each API family answers in
// its own envelope instead, with the status its routes give an id of the
// wrong shape.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';
import { apiError, NO_TOKEN, NOT_FOUND, segmentError } from './vod-envelopes.js';

function hasAccessToken(url: string): boolean {
  const query = url.indexOf('?');
  // URLSearchParams decodes leniently: a bad escape there does not throw.
  return query >= 0 && (new URLSearchParams(url.slice(query + 1)).get('access_token') ?? '') !== '';
}

function noStoreJson(reply: FastifyReply, status: number, body: object): FastifyReply {
  return reply.status(status).type('application/json; charset=utf-8').header('cache-control', 'no-store').send(body);
}

export function answerBadUrl(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const url = request.raw.url ?? '/';
  const path = url.split('?')[0];
  const segments = path.split('/');
  const what = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? 'a path segment is too long'
    : 'the path has a bad percent-encoding (a % not followed by two hex digits, or bytes that are not UTF-8)';
  request.log.info({ code: err.code }, 'url refused');

  if (path.startsWith('/api/um-get-hls-segment/')) {
    // The family's shape rule: a bad video id is a 403, a bad segment a 404.
    const videoBad = !isDecodable(segments[3] ?? '') || (segments[3] ?? '').length > 100;
    return noStoreJson(reply, videoBad ? 403 : 404, segmentError(videoBad ? 403 : 404));
  }
  if (path.startsWith('/api/v3/records/') || path.startsWith('/distribution/')) {
    // Without a token nothing is told; with one, the path names no record or file.
    return hasAccessToken(url) ? noStoreJson(reply, 404, NOT_FOUND) : noStoreJson(reply, 401, apiError(401, NO_TOKEN));
  }
  if (path.startsWith('/api/v3/')) return noStoreJson(reply, 400, apiError(400, `invalid request: ${what}`));
  if (path.startsWith('/vod/')) return noStoreJson(reply, 404, { message: 'Not found: no such video file, or the video is not ready' });
  if (path.startsWith('/rec/') || path.startsWith('/live/')) {
    return noStoreJson(reply, 404, { message: 'Not found: the clip does not exist or has expired' });
  }
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  return reply.status(status).send(errorBody(status, `invalid request: ${what}`));
}

function isDecodable(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}
