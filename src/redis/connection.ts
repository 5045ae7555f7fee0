import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface ConnectOptions {
  cluster?: boolean;
  /**
   * For connections a request waits on: a command fails at once while Redis
   * is unreachable (no offline queue) and after this many milliseconds when
   * Redis does not answer, so an HTTP request answers 503 instead of hanging.
   * Without it the connection waits for Redis to come back, which is what
   * BullMQ requires of its connections (`maxRetriesPerRequest: null`) and
   * what a job wants: it resumes where it was.
   */
  failFastMs?: number;
}

/** Reconnect at once, then every second at most: a Redis that is back is noticed within a second. */
const retryStrategy = (times: number) => Math.min(times * 100, 1000);

function settings(name: string, failFastMs: number | undefined): RedisOptions {
  const common: RedisOptions = { connectionName: name, lazyConnect: true, retryStrategy };
  if (failFastMs === undefined) return { ...common, maxRetriesPerRequest: null };
  return {
    ...common,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: failFastMs,
    connectTimeout: Math.max(failFastMs, 1000),
  };
}

/** One entry of REDIS_URL (a URL, or host:port of a cluster node) as a URL. */
const nodeUrl = (one: string) => new URL(one.includes('://') ? one : `redis://${one}`);

/** host:port of a Redis URL (or of each, comma-separated), without its credentials. */
export function redisAddress(url: string): string {
  return url.split(',').map((one) => {
    try {
      const parsed = nodeUrl(one);
      return parsed.protocol === 'unix:' || parsed.hostname === '' ? parsed.pathname : `${parsed.hostname}:${parsed.port || 6379}`;
    } catch {
      return 'an address that is not a URL';
    }
  }).join(', ');
}

/**
 * Why the first connection failed, in words a person can act on. ioredis
 * itself only says "Connection is closed." once Redis has hung up; the
 * reason came in an error event before.
 */
export function connectFailure(url: string, cause: unknown): Error {
  const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/\.$/, '');
  let hint = '';
  if (/NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(reason)) {
    hint = '; give its user and password in REDIS_URL (redis://:PASSWORD@host:port or redis://USER:PASSWORD@host:port)';
  } else if (/DENIED/.test(reason)) {
    hint = '; it accepts only local clients without a password (protected mode): set a password, or start it with --protected-mode no on a private network';
  } else if (/ECONNREFUSED|ENOENT/.test(reason)) {
    hint = '; is redis-server running there? (without REDIS_URL, npm start runs its own)';
  } else if (/ENOTFOUND|EAI_AGAIN/.test(reason)) {
    hint = '; the host name does not resolve';
  }
  return new Error(`could not connect to Redis at ${redisAddress(url)}: ${reason}${hint}`);
}

/**
 * Opens a connection and waits until it answers. A first connection that
 * fails rejects with connectFailure's words and stops retrying.
 *
 * With `cluster`, `url` names one node of a Redis Cluster (redis://host:port,
 * or several separated by commas) and the client finds the others. The
 * service's keys fit a cluster: each stream's keys share one hash slot, every
 * script names every key it touches, and BullMQ's prefix is hash-tagged. The
 * cluster client answers the same commands, so the rest of the code takes it
 * as a Redis.
 */
export async function connectRedis(url: string, name: string, opts: ConnectOptions = {}): Promise<Redis> {
  const options = settings(name, opts.failFastMs);
  if (opts.cluster) {
    const nodes = url.split(',').map((one) => {
      const parsed = nodeUrl(one);
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
    const first = new URL(url.split(',')[0]);
    // The cluster client queues commands itself while it is not ready (the
    // nodes' own queues never see them): a connection a request waits on
    // must not queue there either, or a whole cluster down would hang every
    // request until it is back.
    const { enableOfflineQueue: _queue, retryStrategy: _nodeRetry, lazyConnect: _lazy, ...nodeOptions } = options;
    const cluster = new Cluster(nodes, {
      lazyConnect: true,
      enableOfflineQueue: opts.failFastMs === undefined,
      clusterRetryStrategy: retryStrategy,
      redisOptions: {
        ...nodeOptions,
        username: first.username || undefined,
        password: first.password ? decodeURIComponent(first.password) : undefined,
      },
    });
    await firstConnect(cluster, url);
    return cluster as unknown as Redis;
  }
  const redis = new Redis(url, options);
  await firstConnect(redis, url);
  return redis;
}

async function firstConnect(client: Redis | Cluster, url: string): Promise<void> {
  let cause: unknown;
  // Listening also keeps ioredis from printing the event as unhandled.
  const remember = (err: unknown) => (cause = err);
  client.on('error', remember);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw connectFailure(url, cause ?? err);
  } finally {
    client.off('error', remember);
  }
}

/**
 * Lets go of a connection without waiting on a Redis that is away: QUIT when
 * it is connected (bounded), otherwise a plain disconnect.
 */
export async function closeRedis(redis: { status: string; quit(): Promise<unknown>; disconnect(): void }, waitMs = 2000): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready' && redis.status !== 'connect') {
    redis.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
  await Promise.race([redis.quit().catch(() => undefined), gaveUp]);
  clearTimeout(timer);
  if ((redis.status as string) !== 'end') redis.disconnect();
}
