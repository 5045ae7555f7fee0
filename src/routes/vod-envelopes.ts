// The error bodies of the VOD access APIs (SPEC 7.1-7.3). They are not the
// management API's {statusCode, error, message}: each family keeps the shape
// of its seed document exactly, because clients parse these bodies.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

/** Seed 000 (segment API): {message, result: [], status}. */
export const SEGMENT_ERRORS = {
  401: 'Invalid or expired user token',
  403: 'User has no rights to access the video Error the video is not owned by any company',
  404: 'Segment not found',
  500: 'Internal server error',
  503: 'Service temporarily unavailable',
} as const;
export type SegmentErrorStatus = keyof typeof SEGMENT_ERRORS;

export function segmentError(status: SegmentErrorStatus) {
  return { message: SEGMENT_ERRORS[status], result: [] as never[], status };
}

export const SegmentErrorBody = Type.Object({
  message: Type.String(),
  result: Type.Array(Type.Unknown(), { maxItems: 0 }),
  status: Type.Integer(),
});

/** Seed 003 (authenticate, records, distribution): {error: {code, message}}. */
export function apiError(code: number, message: string) {
  return { error: { code, message } };
}

export const NO_TOKEN = 'No API key provided';
/** While Redis is unreachable (503, with Retry-After). */
export const UNAVAILABLE_TEXT = 'Service temporarily unavailable; try again in a few seconds.';
export const BAD_TOKEN = 'Bad credentials.';

export const ApiErrorBody = Type.Object({
  error: Type.Object({ code: Type.Integer(), message: Type.String() }),
});

/** Seed 003's 404, for an unknown record or video (or another company's). */
export const NOT_FOUND = {
  type: 'https://tools.ietf.org/html/rfc2616#section-10',
  title: 'An error occurred',
  status: 404,
  detail: 'Not Found',
} as const;

export const NotFoundBody = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
});

export class BodyError extends Error {
  readonly statusCode = 400;
}

/**
 * These APIs read JSON whatever Content-Type the client sent (or none), so
 * that every body problem reaches the plugin's own error handler as one of
 * its envelopes instead of Fastify's 415.
 */
export function parseAnyBodyAsJson(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new BodyError('body must be JSON'), undefined);
    }
  });
}
