// Whether Redis can be reached, as this process's connections see it, and the
// only place that logs about it. While Redis is away every connection and
// worker reports an error on each reconnect attempt and each poll (hundreds a
// minute); those are one fact, so the log gets one line when Redis goes away
// and one when it is back, with how many reports were folded into them.
import type { Logger } from 'pino';

/** The error codes and messages of ioredis, BullMQ and Redis that mean "cannot reach Redis now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'EAI_AGAIN', 'ECONNABORTED', 'ENOTCONN',
]);
const UNAVAILABLE_MESSAGE =
  /Connection is closed|Stream isn't writeable|Command timed out|max retries per request|^LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|None of startup nodes is available|Failed to refresh slots cache|Cluster isn't ready|connect (ETIMEDOUT|ECONNREFUSED|ENOENT)/i;

export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const { code, syscall } = err as NodeJS.ErrnoException;
  // A file that is not there is ENOENT too: only a socket that cannot be reached counts.
  if (code && UNAVAILABLE_CODES.has(code) && (code !== 'ENOENT' || syscall === 'connect')) return true;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError') return true;
  return UNAVAILABLE_MESSAGE.test(err.message);
}

/**
 * A command that timed out on a connection that is still up: Redis is there,
 * the machine is slow (or this process's event loop was held up past
 * REDIS_COMMAND_TIMEOUT_MS while the answer sat in the socket). Redis being
 * gone is not this: the connection is then not ready, and requests answer 503.
 */
export function timedOutWhileUp(err: unknown, redis: { status: string }): boolean {
  return err instanceof Error && /Command timed out/i.test(err.message) && redis.status === 'ready';
}

/** Runs `fn` again (up to `attempts` times in all) after a command that timed out while Redis was up. */
export async function retryWhileUp<T>(redis: { status: string }, fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !timedOutWhileUp(err, redis)) throw err;
    }
  }
}

interface Watchable {
  status: string;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready' | 'end', listener: () => void): unknown;
}

/** Other errors of a source are logged at most this often (with a count of the ones left out). */
const OTHER_ERROR_INTERVAL_MS = 10_000;

export class RedisHealth {
  private downSince = 0;
  private folded = 0;
  private lastReason = '';
  private readonly watched = new Map<Watchable, string>();
  private readonly otherErrors = new Map<string, { at: number; folded: number }>();

  constructor(private readonly log: Logger) {}

  private downWaiters: Array<() => void> = [];

  /** True while some connection of this process has lost Redis. */
  get down(): boolean {
    return this.downSince !== 0;
  }

  /** Resolves once Redis is lost (at once if it is): a shutdown stops waiting on jobs then. */
  whenDown(): Promise<void> {
    if (this.down) return Promise.resolve();
    return new Promise((resolve) => this.downWaiters.push(resolve));
  }

  /**
   * Listens to a connection: its 'error' events (without a listener ioredis
   * prints each one as "Unhandled error event") and its reconnects.
   */
  watch<T extends Watchable>(client: T, name: string): T {
    this.watched.set(client, name);
    client.on('error', (err) => this.report(name, err));
    client.on('ready', () => this.maybeBack());
    client.on('end', () => this.watched.delete(client));
    return client;
  }

  /** An error from a connection, a worker or a queue. */
  report(source: string, err: unknown): void {
    // A timeout while every connection is up is a slow command, not an outage.
    const slow = err instanceof Error && /Command timed out/.test(err.message) && !this.down && this.allReady();
    if (isRedisUnavailable(err) && !slow) {
      if (this.down) {
        this.folded++;
        return;
      }
      this.downSince = Date.now();
      this.folded = 0;
      this.lastReason = err instanceof Error ? err.message : String(err);
      this.log.warn({ source, reason: this.lastReason },
        'redis unreachable: requests answer 503 and jobs wait until it is back');
      for (const resolve of this.downWaiters.splice(0)) resolve();
      return;
    }
    const now = Date.now();
    const seen = this.otherErrors.get(source);
    if (seen && now - seen.at < OTHER_ERROR_INTERVAL_MS) {
      seen.folded++;
      return;
    }
    this.otherErrors.set(source, { at: now, folded: 0 });
    this.log.error({ source, err, similar_errors_not_logged: seen?.folded ?? 0 }, 'redis client error');
  }

  private allReady(): boolean {
    for (const client of this.watched.keys()) {
      if (client.status !== 'ready' && client.status !== 'connect') return false;
    }
    return true;
  }

  /** Back once every watched connection is ready again. */
  private maybeBack(): void {
    if (!this.down || !this.allReady()) return;
    const downMs = Date.now() - this.downSince;
    this.log.info({ down_ms: downMs, errors_folded: this.folded }, 'redis reachable again');
    this.downSince = 0;
    this.folded = 0;
  }
}
