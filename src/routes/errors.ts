// One error handler for the management API: 4xx messages reach the client as
// {statusCode, error, message}; the text of a 5xx never does.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ClipRefusedError } from '../clips/clips.js';
import { ClipRuleError } from '../clips/rules.js';
import { BadPlaylistError } from '../dvr/pushed-playlist.js';

export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

export function errorBody(statusCode: number, message: string) {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

function statusOf(err: FastifyError | Error): number {
  if (err instanceof HttpError) return err.statusCode;
  if (err instanceof ClipRuleError || err instanceof BadPlaylistError) return 400;
  if (err instanceof ClipRefusedError) return 422;
  const code = (err as FastifyError).statusCode;
  return typeof code === 'number' && code >= 400 && code < 600 ? code : 500;
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = statusOf(err);
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.status(status).send(errorBody(status, 'internal error: the failure was logged; try again'));
    }
    const message = (err as FastifyError).validation ? `invalid request: ${err.message}` : err.message;
    request.log.info({ status, message }, 'request refused');
    return reply.status(status).send(errorBody(status, message));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
