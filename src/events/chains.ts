// Delivery chains: per (endpoint, object) the events not yet delivered, in
// the order they happened. Only the head has a delivery job; when it is
// delivered (or given up) the job hands over to the next one. A crash
// anywhere leaves either the head's job (BullMQ retries it) or a chain the
// sweep finds without a job (repairChains), never a lost event.
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { eventKeys } from './keys.js';
import { runEventScript } from './scripts.js';
import type { DeliveryJob, QueuedEvent } from './types.js';

/** BullMQ job ids may not contain ':'; ours are made of ids and dots. */
export const deliveryJobId = (j: DeliveryJob) => `${j.endpointId}.${j.object}.${j.eventId}`;

/** Plenty: an event is given up by age (WEBHOOK_RETRY_SECONDS), not by count. */
const ATTEMPTS = 100_000;

export async function addDeliveryJob(queues: Queues, job: DeliveryJob): Promise<void> {
  // Same id, same job: adding it again (a repeated relay, a repair) is a no-op.
  await queues.webhooks.add('deliver', job, { jobId: deliveryJobId(job), attempts: ATTEMPTS, backoff: { type: 'webhook' } });
}

function chainKeys(ctx: Context, endpointId: string, object: string): string[] {
  const k = eventKeys(ctx.keys);
  return [k.chain(endpointId, object), k.chains(endpointId), k.events(endpointId), k.chainSeq(endpointId)];
}

/** Appends the event to its chain and makes sure the head has its job. */
export async function appendToChain(ctx: Context, queues: Queues, endpointId: string, event: QueuedEvent): Promise<void> {
  const head = await runEventScript<string | null>(ctx.redis, 'evChainAdd', chainKeys(ctx, endpointId, event.object), [
    event.object, event.id, JSON.stringify(event),
  ]);
  await ctx.redis.zadd(eventKeys(ctx.keys).pending, 'NX', event.at, `${endpointId}|${event.id}`);
  if (head) await addDeliveryJob(queues, { endpointId, object: event.object, eventId: head });
}

export async function chainHead(ctx: Context, endpointId: string, object: string): Promise<string | null> {
  const [head] = await ctx.redis.zrange(eventKeys(ctx.keys).chain(endpointId, object), 0, 0);
  return head ?? null;
}

export interface ChainState {
  endpoint: Record<string, string>;
  head: string | null;
  event: QueuedEvent | null;
}

/** The endpoint's record, the chain's head and its event, in one round trip. */
export async function chainState(ctx: Context, endpointId: string, object: string): Promise<ChainState> {
  const k = eventKeys(ctx.keys);
  const [flat, head, event] = await runEventScript<[string[], string | null, string | null]>(ctx.redis, 'evChainHead', [
    k.endpoint(endpointId), k.chain(endpointId, object), k.events(endpointId),
  ], []);
  const endpoint: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) endpoint[flat[i]] = flat[i + 1];
  return { endpoint, head: head ?? null, event: event ? (JSON.parse(event) as QueuedEvent) : null };
}

export async function loadQueuedEvent(ctx: Context, endpointId: string, eventId: string): Promise<QueuedEvent | null> {
  const raw = await ctx.redis.hget(eventKeys(ctx.keys).events(endpointId), eventId);
  return raw ? (JSON.parse(raw) as QueuedEvent) : null;
}

/** The event is done with; the next of its object gets its job. */
export async function settleAndHandOver(ctx: Context, queues: Queues, job: DeliveryJob): Promise<void> {
  const next = await runEventScript<string | null>(ctx.redis, 'evChainSettle', chainKeys(ctx, job.endpointId, job.object).slice(0, 3), [
    job.object, job.eventId,
  ]);
  await ctx.redis.zrem(eventKeys(ctx.keys).pending, `${job.endpointId}|${job.eventId}`);
  if (next) await addDeliveryJob(queues, { ...job, eventId: next });
}

/**
 * Makes sure the head of every chain of the endpoint has a job that will
 * run: after re-enabling (its heads' jobs ended while paused), and in the
 * sweep (a job that failed for good, a hand-over a crash cut short).
 */
export async function resumeChains(ctx: Context, queues: Queues, endpointId: string): Promise<number> {
  let resumed = 0;
  for (const object of await ctx.redis.smembers(eventKeys(ctx.keys).chains(endpointId))) {
    const head = await chainHead(ctx, endpointId, object);
    if (!head) continue;
    const job: DeliveryJob = { endpointId, object, eventId: head };
    const existing = await queues.webhooks.getJob(deliveryJobId(job));
    const state = existing ? await existing.getState() : 'missing';
    if (state === 'failed') await existing!.retry();
    else if (state === 'completed') await existing!.remove();
    if (state === 'missing' || state === 'completed' || state === 'unknown') {
      await addDeliveryJob(queues, job);
      resumed++;
    }
  }
  return resumed;
}
