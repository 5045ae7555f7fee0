// The relay: outbox entries become delivery chains, and only then are they
// deleted (so a crash in between repeats the relay; chains ignore an event
// they hold already). It runs right after a change in the process that made
// it (the fast path) and in the sweep job, which also notices streams gone
// silent and outboxes a crash left behind.
import type { Context } from '../context.js';
import type { Queues } from '../jobs/queues.js';
import { appendToChain } from './chains.js';
import { listEndpoints } from './endpoints.js';
import { eventKeys } from './keys.js';
import { buildEvent, parseEntry, waitsForVideoId, type OutboxEntry } from './payloads.js';
import { runEventScript } from './scripts.js';

const BATCH = 100;
/** Entries relayed per call at most; the sweep comes back for the rest. */
const MAX_PER_CALL = 2000;

export async function relayOutbox(ctx: Context, queues: Queues, outbox: string): Promise<number> {
  let relayed = 0;
  while (relayed < MAX_PER_CALL) {
    const entries = (await ctx.redis.xrange(outbox, '-', '+', 'COUNT', BATCH)) as Array<[string, string[]]>;
    if (entries.length === 0) break;
    const done = await relayEntries(ctx, queues, outbox, entries);
    if (done > 0) await runEventScript(ctx.redis, 'evOutboxAck', [outbox], entries.slice(0, done).map(([id]) => id));
    relayed += done;
    if (done < entries.length || entries.length < BATCH) break;
  }
  return relayed;
}

/**
 * Queues the entries' deliveries, in order; repeating it (a crash before the
 * entries were deleted) queues nothing twice. Returns how many are done: it
 * stops at an entry that must wait (waitsForVideoId), keeping the order.
 */
export async function relayEntries(ctx: Context, queues: Queues, outbox: string, entries: Array<[string, string[]]>): Promise<number> {
  let done = 0;
  for (const [entryId, fields] of entries) {
    const entry = parseEntry(entryId, fields);
    if (await waitsForVideoId(ctx, entry)) break;
    await relayEntry(ctx, queues, outbox, entry);
    done++;
  }
  return done;
}

async function relayEntry(ctx: Context, queues: Queues, outbox: string, entry: OutboxEntry): Promise<void> {
  const entryId = entry.entryId;
  const event = await buildEvent(ctx, outbox, entry);
  if (!event) {
    ctx.log.warn({ outbox, entry: entryId, type: entry.type }, 'an event without its record was dropped');
    return;
  }
  const endpoints = (await listEndpoints(ctx, event.clientId)).filter((ep) => ep.enabled && ep.events.includes(entry.type));
  const queued = { id: event.id, type: entry.type, object: event.object, at: event.at, body: JSON.stringify(event.message) };
  for (const ep of endpoints) await appendToChain(ctx, queues, ep.id, queued);
}

/** The fast path: errors are logged, the sweep relays what is left. */
export function relaySoon(ctx: Context, queues: Queues, outbox: string): Promise<void> {
  return relayOutbox(ctx, queues, outbox).then(
    () => undefined,
    (err) => ctx.log.warn({ err, outbox }, 'relaying events failed; the sweep retries'),
  );
}

export const relayStreamEvents = (ctx: Context, queues: Queues, streamId: number) =>
  relaySoon(ctx, queues, eventKeys(ctx.keys).streamOutbox(streamId));

export const relayVideoEvents = (ctx: Context, queues: Queues, videoId: number) =>
  relaySoon(ctx, queues, eventKeys(ctx.keys).videoOutbox(videoId));
