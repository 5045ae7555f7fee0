import { Cluster, Redis } from 'ioredis';

/**
 * Opens a connection and waits until it answers. `maxRetriesPerRequest: null`
 * is what BullMQ requires of the connections it is given; the same setting is
 * harmless for ours, since a command waits for a reconnect instead of failing.
 *
 * With `cluster`, `url` names one node of a Redis Cluster (redis://host:port,
 * or several separated by commas) and the client finds the others. The
 * service's keys fit a cluster: each stream's keys share one hash slot, every
 * script names a key of that slot, and BullMQ's prefix is hash-tagged. The
 * cluster client answers the same commands, so the rest of the code takes it
 * as a Redis.
 */
export async function connectRedis(url: string, name: string, opts: { cluster?: boolean } = {}): Promise<Redis> {
  if (opts.cluster) {
    const nodes = url.split(',').map((one) => {
      const parsed = new URL(one.includes('://') ? one : `redis://${one}`);
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
    const first = new URL(url.split(',')[0]);
    const cluster = new Cluster(nodes, {
      lazyConnect: true,
      redisOptions: {
        maxRetriesPerRequest: null,
        connectionName: name,
        username: first.username || undefined,
        password: first.password ? decodeURIComponent(first.password) : undefined,
      },
    });
    await cluster.connect();
    return cluster as unknown as Redis;
  }
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: true });
  await redis.connect();
  return redis;
}
