// Idempotency-Key (SPEC 5) on clip and stream creation. The first request
// with a key reserves it (SET NX) with the request's fingerprint, does the
// work, then stores its answer there for 24 h. A retry with the same key and
// the same request gets that answer and makes nothing; one with another
// request is refused (422); one arriving while the first still works waits
// for its answer. Keys are per company.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '../context.js';
import { HttpError, statusOf } from '../routes/errors.js';
import { eventKeys } from './keys.js';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
const MAX_KEY_LENGTH = 255;
/** How long a reservation lives if its request dies without an answer. */
const RESERVATION_SECONDS = 60;
const WAIT_MS = 10_000;
const POLL_MS = 25;

export interface Answer {
  statusCode: number;
  body: unknown;
}

/** A refusal (4xx) is an answer too: it is replayed as the same error. */
interface StoredAnswer {
  statusCode: number;
  body?: unknown;
  error?: string;
}

interface Stored {
  fingerprint: string;
  answer?: StoredAnswer;
}

/** Canonical JSON (sorted keys), so the same body in another key order is the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The header's value, or null without one; 400 for an empty or too long key. */
export function idempotencyKeyOf(headers: Record<string, string | string[] | undefined>): string | null {
  const raw = headers['idempotency-key'];
  if (raw === undefined) return null;
  const key = Array.isArray(raw) ? raw.join(', ') : raw;
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new HttpError(400, `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters, got ${key.length}`);
  }
  return key;
}

/**
 * Runs `work` once per (company, key): `operation` names what is done to
 * what (e.g. "clip:7"), `body` the validated request body. A 4xx the work
 * throws is the answer too; anything else frees the key for a retry.
 */
export async function once(
  ctx: Context, clientId: number, key: string | null, operation: string, body: unknown, work: () => Promise<Answer>,
): Promise<Answer> {
  if (key === null) return work();
  const redisKey = eventKeys(ctx.keys).idempotency(clientId, createHash('sha256').update(key).digest('hex'));
  const fingerprint = createHash('sha256').update(`${operation}\n${canonical(body)}`).digest('hex');
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const reserved = await ctx.redis.set(redisKey, JSON.stringify({ fingerprint } satisfies Stored), 'EX', RESERVATION_SECONDS, 'NX');
    if (reserved) return first(ctx, redisKey, fingerprint, work);
    const raw = await ctx.redis.get(redisKey);
    if (!raw) continue; // the first request failed and freed the key: this one does the work
    const stored = JSON.parse(raw) as Stored;
    const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
    if (stored.fingerprint !== fingerprint) {
      throw new HttpError(422, `Idempotency-Key "${shown}" was already used with another request: use a new key for a new request`);
    }
    if (stored.answer) return replay(stored.answer);
    if (Date.now() > deadline) throw new HttpError(409, `a request with Idempotency-Key "${shown}" is still in progress: retry shortly`);
    await sleep(POLL_MS);
  }
}

async function first(ctx: Context, redisKey: string, fingerprint: string, work: () => Promise<Answer>): Promise<Answer> {
  let answer: StoredAnswer;
  let result: Answer | undefined;
  try {
    result = await work();
    answer = result;
  } catch (err) {
    const status = refusalStatus(err);
    if (status === null) {
      await ctx.redis.del(redisKey);
      throw err;
    }
    answer = { statusCode: status, error: (err as Error).message };
  }
  await ctx.redis.set(redisKey, JSON.stringify({ fingerprint, answer } satisfies Stored), 'EX', IDEMPOTENCY_TTL_SECONDS);
  return result ?? replay(answer);
}

function replay(answer: StoredAnswer): Answer {
  if (answer.error !== undefined) throw new HttpError(answer.statusCode, answer.error);
  return { statusCode: answer.statusCode, body: answer.body };
}

/** The status of a refusal the error handler would answer with a 4xx, or null. */
function refusalStatus(err: unknown): number | null {
  const status = statusOf(err as Error);
  return status >= 400 && status < 500 ? status : null;
}
