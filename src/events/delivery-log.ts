// Every delivery attempt of an endpoint, newest first, kept for inspection
// (GET /streaming/webhooks/{id}/deliveries) within a count and an age.
import type { Context } from '../context.js';
import { eventKeys } from './keys.js';

export interface AttemptRecord {
  event_id: string;
  event: string;
  object: string;
  attempt: number;
  /** delivered | failed | given_up */
  outcome: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response: string;
  at: string;
}

export async function recordAttempt(ctx: Context, endpointId: string, record: AttemptRecord): Promise<void> {
  const key = eventKeys(ctx.keys).log(endpointId);
  await ctx.redis.multi()
    .lpush(key, JSON.stringify(record))
    .ltrim(key, 0, ctx.config.webhookLogEntries - 1)
    .pexpire(key, ctx.config.webhookLogSeconds * 1000)
    .exec();
}

export async function listAttempts(ctx: Context, endpointId: string, limit: number): Promise<AttemptRecord[]> {
  const raw = await ctx.redis.lrange(eventKeys(ctx.keys).log(endpointId), 0, Math.min(limit, ctx.config.webhookLogEntries) - 1);
  const oldest = Date.now() - ctx.config.webhookLogSeconds * 1000;
  return raw.map((r) => JSON.parse(r) as AttemptRecord).filter((r) => Date.parse(r.at) >= oldest);
}
