// What every part of the service is handed: configuration, the Redis
// connection, the key schema, a logger and the clock. The clock is injectable
// so tests can move time instead of sleeping.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ReadyHooks } from './clips/ready-hooks.js';
import type { RenditionProbes } from './dvr/rendition-probe.js';
import type { Config } from './config.js';
import type { Keys } from './redis/keys.js';

export interface Clock {
  /** Unix time in milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface Context {
  config: Config;
  redis: Redis;
  keys: Keys;
  log: Logger;
  clock: Clock;
  /** What runs once a clip is ready (VOD promotion, MP4 prebuild): filled in src/service.ts. */
  readyHooks: ReadyHooks;
  /** The rendition probes of this service: which ran, which are under way. */
  probes: RenditionProbes;
}
