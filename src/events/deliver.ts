// One delivery job: the head event of an (endpoint, object) chain goes to
// the endpoint, signed. 2xx: delivered, the next event of that object gets
// its job. Otherwise BullMQ retries it with exponential backoff and jitter
// until the event is WEBHOOK_RETRY_SECONDS old; an endpoint failing for
// WEBHOOK_DISABLE_AFTER_SECONDS is disabled and its chains pause.
import type { Job } from 'bullmq';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { metrics } from '../metrics.js';
import { addDeliveryJob, chainState, settleAndHandOver } from './chains.js';
import { recordAttempt } from './delivery-log.js';
import { noteFailure, noteSuccess, parseEndpoint, signingSecrets } from './endpoints.js';
import { send } from './send.js';
import { signedHeaders } from './signing.js';
import type { DeliveryJob } from './types.js';

export type DeliveryOutcome = 'delivered' | 'given-up' | 'paused' | 'endpoint-gone' | 'handed-over';

export class DeliveryFailed extends Error {}

export async function deliverHead(ctx: Context, queues: Queues, job: Job<DeliveryJob>): Promise<DeliveryOutcome> {
  const d = job.data;
  const state = await chainState(ctx, d.endpointId, d.object);
  const ep = parseEndpoint(state.endpoint);
  if (!ep) return 'endpoint-gone';
  const head = state.head;
  if (head !== d.eventId) {
    // Settled already (this is a retry after a crash): finish the hand-over.
    if (head) await addDeliveryJob(queues, { ...d, eventId: head });
    return 'handed-over';
  }
  if (!ep.enabled) return 'paused'; // re-enabling resumes the chain (resumeChains)
  const event = state.event;
  if (!event) {
    await settleAndHandOver(ctx, queues, d);
    return 'handed-over';
  }
  const now = Date.now();
  const headers = signedHeaders(signingSecrets(ep, now), event.id, Math.floor(now / 1000), event.body);
  const attempt = await send(ep.url, { ...headers }, event.body, {
    timeoutMs: ctx.config.webhookTimeoutMs,
    maxResponseBytes: ctx.config.webhookMaxResponseBytes,
    allowPrivate: ctx.config.webhookAllowPrivate,
  });
  const givingUp = !attempt.ok && Date.now() - event.at >= ctx.config.webhookRetrySeconds * 1000;
  const outcome = attempt.ok ? 'delivered' : givingUp ? 'given_up' : 'failed';
  await recordAttempt(ctx, ep.id, {
    event_id: event.id, event: event.type, object: event.object, attempt: job.attemptsMade + 1, outcome,
    status_code: attempt.statusCode, latency_ms: attempt.latencyMs, error: attempt.error, response: attempt.response,
    at: new Date(now).toISOString(),
  });
  metrics.webhookDeliveries.inc({ outcome });
  if (attempt.ok) {
    await noteSuccess(ctx, ep);
    await settleAndHandOver(ctx, queues, d);
    return 'delivered';
  }
  const disabled = await noteFailure(ctx, ep, attempt.error ?? 'failed');
  if (givingUp) {
    ctx.log.warn({ endpoint_id: ep.id, event_id: event.id, type: event.type }, 'webhook event given up after retrying');
    await settleAndHandOver(ctx, queues, d);
    return 'given-up';
  }
  if (disabled) return 'paused';
  throw new DeliveryFailed(attempt.error ?? 'failed');
}

/** Exponential backoff with jitter (half to all of the step), capped, for the worker's settings. */
export function webhookBackoff(config: Config) {
  return (attemptsMade: number): number => {
    const step = Math.min(config.webhookBackoffMs * 2 ** Math.max(0, attemptsMade - 1), config.webhookBackoffMaxMs);
    return Math.round(step / 2 + Math.random() * (step / 2));
  };
}
