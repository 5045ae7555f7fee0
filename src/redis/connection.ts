import { Redis } from 'ioredis';

/**
 * Opens a connection and waits until it answers. `maxRetriesPerRequest: null`
 * is what BullMQ requires of the connections it is given; the same setting is
 * harmless for ours, since a command waits for a reconnect instead of failing.
 */
export async function connectRedis(url: string, name: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: true });
  await redis.connect();
  return redis;
}
