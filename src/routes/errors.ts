// One error handler for the management API: 4xx messages reach the client as
// {statusCode, error, message}; the text of a 5xx never does. Also what comes
// before any route's own handler: JSON bodies (an empty one is no body),
// OPTIONS that is not a CORS preflight, and URLs the router cannot decode
// (answered in the envelope of the family the path belongs to, see
// families.ts).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ClipRefusedError } from '../clips/clips.js';
import { ClipRuleError } from '../clips/rules.js';
import { BadPlaylistError } from '../dvr/pushed-playlist.js';
import { StreamInputError } from '../dvr/streams.js';
import { isRedisUnavailable } from '../redis/health.js';
import { answerNotFound, errorBody } from './families.js';
import { validationMessage } from './validation-messages.js';

export { errorBody };

export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

/** While Redis is unreachable: every API family answers 503 with this hint, in its own envelope. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;
export const UNAVAILABLE_MESSAGE = 'service unavailable: the store cannot be reached; retry in a few seconds';

export function statusOf(err: FastifyError | Error): number {
  if (err instanceof HttpError) return err.statusCode;
  if (err instanceof ClipRuleError || err instanceof BadPlaylistError || err instanceof StreamInputError) return 400;
  if (err instanceof ClipRefusedError) return 422;
  const code = (err as FastifyError).statusCode;
  return typeof code === 'number' && code >= 400 && code < 600 ? code : 500;
}

/**
 * Gcore's SDKs send `Content-Type: application/json` on every call, with no
 * body on DELETE and on PUT …/dvr_cleanup: an empty body is no body (the
 * route's schema still refuses it where a body is required).
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * OPTIONS without the headers of a CORS preflight asks what the path allows
 * (RFC 9110 9.3.7): 204 with `Allow`, or the usual 404. Preflights go on to
 * the CORS plugin's OPTIONS route.
 */
function answerPlainOptions(app: FastifyInstance) {
  return async function plainOptions(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.method !== 'OPTIONS') return;
    if (request.headers.origin && request.headers['access-control-request-method']) return;
    const path = request.url.split('?')[0];
    const allowed = METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    if (allowed.length === 0) return answerNotFound(request, reply);
    reply.status(204).header('allow', [...allowed, 'OPTIONS'].join(', ')).send();
    return reply;
  };
}

export function installErrorHandler(app: FastifyInstance): void {
  acceptEmptyJsonBodies(app);
  app.addHook('onRequest', answerPlainOptions(app));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isRedisUnavailable(err)) {
      // Logged once for the whole outage by the Redis health watch, not once per request.
      return reply.status(503).header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS))
        .send(errorBody(503, UNAVAILABLE_MESSAGE));
    }
    const status = statusOf(err);
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.status(status).send(errorBody(status, 'internal error: the failure was logged; try again'));
    }
    const message = err.validation ? `invalid request: ${validationMessage(err)}` : err.message;
    request.log.info({ status, message }, 'request refused');
    return reply.status(status).send(errorBody(status, message));
  });
  app.setNotFoundHandler(answerNotFound);
}
