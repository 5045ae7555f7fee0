// POST /api/v3/authenticate (SPEC 7.1): a user trades username and password
// for an access token. Errors use seed 003's {error: {code, message}}.
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { beginLoginAttempt } from '../tenancy/login-throttle.js';
import type { UserTokens } from '../tenancy/user-tokens.js';
import { checkCredentials, MAX_PASSWORD_LENGTH, normalizeUsername } from '../tenancy/users.js';
import { apiError, ApiErrorBody, BAD_TOKEN, parseAnyBodyAsJson } from './vod-envelopes.js';
import { isRedisUnavailable } from '../redis/health.js';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.js';
import { UNAVAILABLE_TEXT } from './vod-envelopes.js';

const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 200 }),
  password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }),
});
const LoginReply = Type.Object({ data: Type.Object({ access_token: Type.String() }) });
const MAX_LOGIN_BODY = 8 * 1024;

export async function loginRoutes(app: FastifyInstance, { ctx, tokens }: { ctx: Context; tokens: UserTokens }): Promise<void> {
  parseAnyBodyAsJson(app, MAX_LOGIN_BODY);
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isRedisUnavailable(err)) return reply.status(503).header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS)).send(apiError(503, UNAVAILABLE_TEXT));
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      request.log.error({ err }, 'login failed');
      return reply.status(500).send(apiError(500, 'Internal server error'));
    }
    const message = err.validation ? `invalid request: ${err.message}` : err.message;
    return reply.status(status).send(apiError(status, message));
  });

  app.post<{ Body: { username: string; password: string } }>('/api/v3/authenticate', {
    bodyLimit: MAX_LOGIN_BODY,
    schema: {
      tags: ['vod access'],
      summary: 'Log in as a user: the access token of the records and segment APIs',
      security: [],
      body: LoginBody,
      response: { 200: LoginReply, 400: ApiErrorBody, 401: ApiErrorBody, 429: ApiErrorBody },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { username, password } = request.body;
    const attempt = await beginLoginAttempt(ctx, normalizeUsername(username), request.ip);
    if (!attempt.allowed) {
      request.log.warn({ ip: request.ip }, 'login refused: too many failures');
      return reply.status(429).header('retry-after', String(attempt.retryAfterSeconds))
        .send(apiError(429, `Too many failed logins; try again in ${attempt.retryAfterSeconds} seconds.`));
    }
    const user = await checkCredentials(ctx, username, password);
    if (!user) {
      request.log.info({ ip: request.ip }, 'login failed: bad credentials');
      return reply.status(401).send(apiError(401, BAD_TOKEN));
    }
    await attempt.succeeded();
    return { data: { access_token: await tokens.issue(user) } };
  });
}
