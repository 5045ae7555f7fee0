// Keys of the events room. Outboxes live beside what they announce, in the
// same Cluster slot, so one script changes the state and records the event:
// a stream's in its hash tag ({s<id>}:outbox, the name lib.lua builds), a
// video's in the slot of its global record key ({<video key>}:outbox, which
// hashes like the record key itself). Everything of one webhook endpoint
// shares the tag {w:<id>}, so its delivery chains change atomically.
import type { Keys } from '../redis/keys.js';

export interface EventKeys {
  streamOutbox(streamId: number): string;
  videoOutbox(videoId: number): string;
  /** zset: video outbox key -> when it was last written (ms); the sweep visits these */
  videoOutboxes: string;
  /** set of every endpoint id (the sweep repairs their chains) */
  endpoints: string;
  companyEndpoints(clientId: number): string;
  endpoint(endpointId: string): string;
  /** zset per (endpoint, object): event id -> order; the head is the one being delivered */
  chain(endpointId: string, object: string): string;
  /** set: objects of the endpoint with a non-empty chain */
  chains(endpointId: string): string;
  /** hash: event id -> the event as it is sent (JSON), while it waits in a chain */
  events(endpointId: string): string;
  chainSeq(endpointId: string): string;
  /** list of attempt records, newest first, bounded */
  log(endpointId: string): string;
  /** Idempotency-Key of a company: the first request's fingerprint, then its answer */
  idempotency(clientId: number, keyHash: string): string;
  /** zset "{endpoint}|{event}" -> when it happened: what the oldest-undelivered metric reads */
  pending: string;
  sweepLock: string;
}

export function eventKeys(keys: Keys): EventKeys {
  const p = keys.prefix;
  const w = (id: string) => `${p}:{w:${id}}`;
  return {
    streamOutbox: (s) => `${keys.stream.tag(s)}:outbox`,
    videoOutbox: (v) => `{${keys.video(v)}}:outbox`,
    videoOutboxes: `${p}:outboxes:video`,
    endpoints: `${p}:webhooks`,
    companyEndpoints: (c) => `${p}:company:${c}:webhooks`,
    endpoint: (id) => `${w(id)}:ep`,
    chain: (id, object) => `${w(id)}:chain:${object}`,
    chains: (id) => `${w(id)}:chains`,
    events: (id) => `${w(id)}:ev`,
    chainSeq: (id) => `${w(id)}:seq`,
    log: (id) => `${w(id)}:log`,
    idempotency: (c, h) => `${p}:idem:${c}:${h}`,
    pending: `${p}:webhooks:pending`,
    sweepLock: `${p}:webhooks:sweeplock`,
  };
}
