// Everything one KEY_PREFIX owns in Redis: the service's keys and BullMQ's
// hash-tagged queue keys (see keys.ts). Tests and benchmarks share one Redis
// and clean up after themselves with this.
import { Redis } from 'ioredis';

export async function scanKeys(redis: Redis, match: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 10_000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return [...new Set(found)].sort();
}

export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  // `{prefix:video:N}:outbox`: a video's event outbox, in its record's slot (src/events/keys.ts).
  for (const match of [`${prefix}:*`, `{${prefix}q}:*`, `{${prefix}:video:*`]) {
    const keys = await scanKeys(redis, match);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  }
}

/** The same on a connection of its own, for callers that have closed theirs. */
export async function deletePrefixAt(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    await deletePrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
