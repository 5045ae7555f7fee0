// "One remux per clip rendition, across every process": a Redis lock (a
// random token set only while the key is free, with a PX lease). The holder renews a short lease while
// ffmpeg runs, so a crashed builder frees the lock within LEASE_MS instead of
// after the whole ffmpeg timeout. Only the holder can release it (compare and
// delete). A failed build leaves its token under `:failed` for a few seconds,
// so the processes that waited on that very build fail with it, while any
// later request simply takes the lock and tries again.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export const LEASE_MS = 15_000;
const RENEW_MS = 5_000;
const FAILURE_MEMORY_MS = 10_000;

// One step, so a waiter cannot miss a build that fails between two reads:
// the lock's holder, or the failure of the build it waited on, or the lock.
// The failure mark shares the lock's hash tag, so this stays legal on a Cluster.
const ACQUIRE = `local holder = redis.call('GET', KEYS[1])
if holder then return {'held', holder} end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then return {'failed', ARGV[3]} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'acquired', ARGV[1]}`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3]) end
return redis.call('DEL', KEYS[1])`;

export type Attempt = { lease: Lease } | { held: string } | { failed: true };

export interface Lease {
  /** Stops renewing and frees the lock; `failed` tells the waiters. */
  release(failed: boolean): Promise<void>;
}

export class BuildLock {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly onLost: (err: Error) => void,
  ) {}

  /**
   * Takes the lock if it is free. `waitedOn` is the holder seen at the last
   * attempt: if that build has failed meanwhile, the answer says so instead
   * of starting another build for the same waiting requests.
   */
  async attempt(waitedOn: string | null): Promise<Attempt> {
    const token = randomBytes(12).toString('base64url');
    const [outcome, holder] = (await this.redis.eval(ACQUIRE, 2, this.key, this.failedKey, token, LEASE_MS, waitedOn ?? '')) as [string, string];
    if (outcome === 'held') return { held: holder };
    if (outcome === 'failed') return { failed: true };
    const renew = setInterval(() => {
      this.redis.eval(RENEW, 1, this.key, token, LEASE_MS).then(
        (ok) => ok === 0 && this.onLost(new Error('mp4 build lock lost (lease expired)')),
        (err: Error) => this.onLost(err),
      );
    }, RENEW_MS);
    renew.unref();
    return {
      lease: {
        release: async (failed) => {
          clearInterval(renew);
          await this.redis.eval(RELEASE, 2, this.key, this.failedKey, token, failed ? '1' : '0', FAILURE_MEMORY_MS);
        },
      },
    };
  }

  private get failedKey(): string {
    return `${this.key}:failed`;
  }
}
