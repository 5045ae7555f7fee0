// /streaming/webhooks: a company's webhook endpoints, their test event and
// their delivery log (src/events).
import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { WebhookUrlError } from '../events/address.js';
import { appendToChain, resumeChains } from '../events/chains.js';
import { listAttempts } from '../events/delivery-log.js';
import {
  createEndpoint, deleteEndpoint, ENDPOINT_ID_PATTERN, EndpointInputError, findEndpoint, listEndpoints, rotateSecret,
  updateEndpoint, viewEndpoint, type EndpointPatch,
} from '../events/endpoints.js';
import { TEST_EVENT, type WebhookMessage } from '../events/types.js';
import { apiKeyAuth } from './auth.js';
import { HttpError } from './errors.js';
import { errorResponses } from './schemas.js';

const EndpointParams = Type.Object({ id: Type.String({ pattern: ENDPOINT_ID_PATTERN }) });
// Lengths are checked by the domain (with a message naming the limit); these bound the body.
const Url = Type.String({ maxLength: 8192, description: 'http(s) URL, at most 2048 characters' });
const Events = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32, description: 'event types; omitted: all' });
const EndpointCreate = Type.Object({ url: Url, events: Type.Optional(Events) }, { additionalProperties: false });
const EndpointPatchBody = Type.Object(
  { url: Type.Optional(Url), events: Type.Optional(Events), enabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
const DeliveriesQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: '1-1000, default 100' })) },
  { additionalProperties: false },
);

const EndpointView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()]),
  failing_since: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});
const EndpointWithSecret = Type.Intersect([EndpointView, Type.Object({ secret: Type.String({ description: 'whsec_…: shown only here' }) })]);

type WithId = { Params: { id: string } };

/** Bad URLs and event names are the caller's to fix: 400 naming the problem. */
async function input<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof WebhookUrlError || err instanceof EndpointInputError) throw new HttpError(400, err.message);
    throw err;
  }
}

export async function webhookRoutes(app: FastifyInstance, { ctx, queues }: { ctx: Context; queues: Queues }): Promise<void> {
  app.addHook('onRequest', apiKeyAuth(ctx));
  const tags = ['webhooks'];
  const path = '/streaming/webhooks';

  async function own(clientId: number, id: string) {
    const ep = await findEndpoint(ctx, clientId, id);
    if (!ep) throw new HttpError(404, `webhook endpoint ${id} not found`);
    return ep;
  }

  app.post<{ Body: { url: string; events?: string[] } }>(path, {
    schema: { tags, body: EndpointCreate, response: { 201: EndpointWithSecret, ...errorResponses } },
  }, async (request, reply) => {
    const ep = await input(() => createEndpoint(ctx, request.clientId, request.body));
    return reply.status(201).send({ ...viewEndpoint(ep), secret: ep.secret });
  });

  app.get(path, { schema: { tags, response: { 200: Type.Array(EndpointView), ...errorResponses } } }, async (request) =>
    (await listEndpoints(ctx, request.clientId)).map(viewEndpoint));

  app.get<WithId>(`${path}/:id`, {
    schema: { tags, params: EndpointParams, response: { 200: EndpointView, ...errorResponses } },
  }, async (request) => viewEndpoint(await own(request.clientId, request.params.id)));

  app.patch<WithId & { Body: EndpointPatch }>(`${path}/:id`, {
    schema: { tags, params: EndpointParams, body: EndpointPatchBody, response: { 200: EndpointView, ...errorResponses } },
  }, async (request) => {
    const ep = await own(request.clientId, request.params.id);
    const updated = await input(() => updateEndpoint(ctx, ep, request.body));
    // Chains paused while it was disabled go on from where they stopped.
    if (request.body.enabled === true) await resumeChains(ctx, queues, ep.id);
    return viewEndpoint(updated);
  });

  app.delete<WithId>(`${path}/:id`, { schema: { tags, params: EndpointParams, response: errorResponses } }, async (request, reply) => {
    await deleteEndpoint(ctx, await own(request.clientId, request.params.id));
    return reply.status(204).send();
  });

  app.post<WithId>(`${path}/:id/rotate_secret`, {
    schema: { tags, params: EndpointParams, response: { 200: EndpointWithSecret, ...errorResponses } },
  }, async (request) => {
    const ep = await rotateSecret(ctx, await own(request.clientId, request.params.id));
    return { ...viewEndpoint(ep), secret: ep.secret };
  });

  app.post<WithId>(`${path}/:id/test`, {
    schema: {
      tags, params: EndpointParams,
      response: { 202: Type.Object({ event_id: Type.String(), type: Type.String() }), ...errorResponses },
    },
  }, async (request, reply) => {
    const ep = await own(request.clientId, request.params.id);
    const id = `msg_${randomBytes(18).toString('base64url')}`;
    const at = Date.now();
    const message: WebhookMessage = {
      type: TEST_EVENT, timestamp: new Date(at).toISOString(),
      data: { endpoint_id: ep.id, message: 'a test event: your endpoint receives and verifies webhooks' },
    };
    await appendToChain(ctx, queues, ep.id, { id, type: TEST_EVENT, object: `test.${id}`, at, body: JSON.stringify(message) });
    return reply.status(202).send({ event_id: id, type: TEST_EVENT });
  });

  app.get<WithId & { Querystring: { limit?: string } }>(`${path}/:id/deliveries`, {
    schema: { tags, params: EndpointParams, querystring: DeliveriesQuery, response: errorResponses },
  }, async (request) => {
    const ep = await own(request.clientId, request.params.id);
    return listAttempts(ctx, ep.id, Number(request.query.limit ?? 100));
  });
}
