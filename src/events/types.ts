// The events a company can subscribe to, and the message sent for each
// (Standard Webhooks: {type, timestamp, data}; data is the object as the
// API shows it at the time of the event).

export const EVENT_TYPES = [
  'stream.live', 'stream.offline',
  'clip.created', 'clip.ready', 'clip.failed', 'clip.expired',
  'video.ready', 'video.error',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Sent by POST /streaming/webhooks/{id}/test to that endpoint alone, whatever it subscribed to. */
export const TEST_EVENT = 'webhook.test';

export interface WebhookMessage {
  type: EventType | typeof TEST_EVENT;
  /** ISO 8601: when the change happened */
  timestamp: string;
  data: Record<string, unknown>;
}

/** An event waiting in an endpoint's chain, as stored (the body is sent as is and signed). */
export interface QueuedEvent {
  id: string;
  type: string;
  /** The object the event is about, e.g. "clip.abc…": events of one object are delivered in order. */
  object: string;
  /** ms: when the change happened */
  at: number;
  body: string;
}

export interface DeliveryJob {
  endpointId: string;
  object: string;
  eventId: string;
}
