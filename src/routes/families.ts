// Answers given before any route's own handler runs (no route matched, or a
// URL the router cannot decode: a bad percent-encoding such as %ZZ, a path
// segment over the router's length limit). Fastify would answer those with
// its own body; each API family answers in its own envelope instead, with
// the status its routes give an id of the wrong shape.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { apiError, NO_TOKEN, NOT_FOUND, segmentError } from './vod-envelopes.js';

/** The management API's error body. */
export function errorBody(statusCode: number, message: string) {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

const SEGMENTS = '/api/um-get-hls-segment/';
const CLIP_GONE = 'Not found: the clip does not exist or has expired';
const VOD_GONE = 'Not found: no such video file, or the video is not ready';

function hasAccessToken(url: string): boolean {
  const query = url.indexOf('?');
  // URLSearchParams decodes leniently: a bad escape there does not throw.
  return query >= 0 && (new URLSearchParams(url.slice(query + 1)).get('access_token') ?? '') !== '';
}

function isDecodable(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

function json(reply: FastifyReply, status: number, body: object): FastifyReply {
  return reply.status(status).type('application/json; charset=utf-8').header('cache-control', 'no-store').send(body);
}

/**
 * The answer of the family `url` belongs to when it names nothing there.
 * `management` is the management API's status and message, for paths of no
 * other family.
 */
function refuse(reply: FastifyReply, url: string, management: { status: number; message: string }, videoIdBad?: boolean): FastifyReply {
  const path = url.split('?')[0];
  if (path.startsWith(SEGMENTS)) {
    // The family's shape rule: a bad video id is a 403, anything else a 404.
    return json(reply, videoIdBad ? 403 : 404, segmentError(videoIdBad ? 403 : 404));
  }
  if (path.startsWith('/api/v3/records') || path.startsWith('/distribution/')) {
    // Without a token nothing is told; with one, the path names no record or file.
    return hasAccessToken(url) ? json(reply, 404, NOT_FOUND) : json(reply, 401, apiError(401, NO_TOKEN));
  }
  if (path.startsWith('/api/v3/')) return json(reply, 404, NOT_FOUND);
  if (path.startsWith('/vod/')) return json(reply, 404, { message: VOD_GONE });
  if (path.startsWith('/rec/') || path.startsWith('/live/')) return json(reply, 404, { message: CLIP_GONE });
  return reply.status(management.status).send(errorBody(management.status, management.message));
}

export function answerNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const url = request.url;
  return refuse(reply, url, { status: 404, message: `no route ${request.method} ${url.split('?')[0]}` });
}

export function answerBadUrl(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const url = request.raw.url ?? '/';
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  request.log.info({ code: err.code }, 'url refused');
  const videoId = url.split('?')[0].split('/')[3] ?? '';
  const videoIdBad = !isDecodable(videoId) || videoId.length > 100;
  const message = tooLong
    ? 'invalid request: a path segment is over 100 characters'
    : 'invalid request: the path has a bad percent-encoding (a % not followed by two hex digits, or bytes that are not UTF-8)';
  return refuse(reply, url, { status: tooLong ? 414 : 400, message }, videoIdBad);
}
