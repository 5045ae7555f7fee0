// The relay: outbox entries become delivery chains, and only then are they
// deleted (so a crash in between repeats the relay; chains ignore an event
// they hold already). It runs right after a change in the process that made
// it (the fast path) and in the sweep job, which also notices streams gone
// silent and outboxes a crash left behind.
import type { Context } from '../context.js';
import { perService } from '../util/per-service.js';
import type { Queues } from '../jobs/queues.js';
import { appendToChain } from './chains.js';
import { listEndpoints, type Endpoint } from './endpoints.js';
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
  // One read of a company's endpoints per batch, not per entry.
  const endpointsOf = new Map<number, Promise<Endpoint[]>>();
  const listed = (clientId: number) => {
    let found = endpointsOf.get(clientId);
    if (!found) endpointsOf.set(clientId, (found = listEndpoints(ctx, clientId)));
    return found;
  };
  for (const [entryId, fields] of entries) {
    const entry = parseEntry(entryId, fields);
    if (await waitsForVideoId(ctx, entry)) break;
    await relayEntry(ctx, queues, outbox, entry, listed);
    done++;
  }
  return done;
}

async function relayEntry(
  ctx: Context, queues: Queues, outbox: string, entry: OutboxEntry, listed: (clientId: number) => Promise<Endpoint[]>,
): Promise<void> {
  const dropped = () => ctx.log.warn({ outbox, entry: entry.entryId, type: entry.type }, 'an event without its record was dropped');
  const clientId = Number(entry.record.client_id);
  if (!Number.isInteger(clientId) || clientId <= 0) return dropped();
  const endpoints = (await listed(clientId)).filter((ep) => ep.enabled && ep.events.includes(entry.type));
  // Nobody subscribed: nothing to build (most clips of most companies).
  if (endpoints.length === 0) return;
  const event = await buildEvent(ctx, outbox, entry);
  if (!event) return dropped();
  const queued = { id: event.id, type: entry.type, object: event.object, at: event.at, body: JSON.stringify(event.message) };
  for (const ep of endpoints) await appendToChain(ctx, queues, ep.id, queued);
}

interface Relaying {
  /** Entries arrived while this run was on: it reads the outbox once more. */
  again: boolean;
  done: Promise<void>;
}

const relayingOf = perService((_ctx: Context) => new Map<string, Relaying>());

/**
 * The fast path: errors are logged, the sweep relays what is left. One run
 * per outbox in this process at a time: a burst of changes to one stream
 * (clips made by the dozen) would otherwise start as many relays, each
 * reading and building the same entries. A call during a run makes the run
 * read the outbox once more, and resolves when that is done.
 */
export function relaySoon(ctx: Context, queues: Queues, outbox: string): Promise<void> {
  const runs = relayingOf(ctx);
  const current = runs.get(outbox);
  if (current) {
    current.again = true;
    return current.done;
  }
  const run: Relaying = { again: false, done: Promise.resolve() };
  run.done = (async () => {
    try {
      do {
        run.again = false;
        await relayOutbox(ctx, queues, outbox).catch((err) => ctx.log.warn({ err, outbox }, 'relaying events failed; the sweep retries'));
      } while (run.again);
    } finally {
      runs.delete(outbox);
    }
  })();
  runs.set(outbox, run);
  return run.done;
}

export const relayStreamEvents = (ctx: Context, queues: Queues, streamId: number) =>
  relaySoon(ctx, queues, eventKeys(ctx.keys).streamOutbox(streamId));

export const relayVideoEvents = (ctx: Context, queues: Queues, videoId: number) =>
  relaySoon(ctx, queues, eventKeys(ctx.keys).videoOutbox(videoId));
