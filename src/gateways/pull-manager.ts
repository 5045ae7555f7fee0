// Which process pulls which stream: a lease per stream in Redis (SET NX PX),
// renewed while its puller runs; a process that dies stops renewing, and
// another takes the stream over within a lease time. Every process looks for
// pull streams without a puller every few seconds.
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { loadStream } from '../dvr/streams.js';
import { metrics } from '../metrics.js';
import { StreamPuller } from './puller.js';
import { clearSource, gatewayStream } from './stream-state.js';

export const PULL_LEASE_MS = 10_000;
const SCAN_MS = 2000;

const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

interface Running {
  puller: StreamPuller;
  uri: string;
}

export interface PullManager {
  /** Streams this process pulls now. */
  streams(): number[];
  close(): Promise<void>;
}

export function startPullManager(ctx: Context): PullManager {
  const owner = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const running = new Map<number, Running>();
  const leaseKey = (id: number) => `${ctx.keys.stream.tag(id)}:pull:lease`;
  let closed = false;
  let busy = false;

  const stopOne = async (id: number, why: string) => {
    const r = running.get(id);
    if (!r) return;
    running.delete(id);
    metrics.pullStreams.set(running.size);
    await r.puller.stop();
    await ctx.redis.eval(RELEASE, 1, leaseKey(id), owner).catch(() => undefined);
    await clearSource(ctx, id, 'pull', 6000).catch(() => undefined);
    ctx.log.info({ stream_id: id, why }, 'pull stopped');
  };

  const scan = async () => {
    if (busy || closed) return;
    busy = true;
    try {
      const ids = (await ctx.redis.smembers(ctx.keys.activeStreams)).map(Number);
      const wanted = new Set<number>();
      for (const id of ids) {
        const record = await loadStream(ctx, id);
        // A deleted stream's key is gone from the ingest index: it pulls no more.
        const live = record && (await ctx.redis.hget(ctx.keys.ingestKeys, record.stream_key)) === String(id);
        if (!record || !live) continue;
        const g = await gatewayStream(ctx, record);
        if (!g.pull || !g.active || !g.uri) continue;
        wanted.add(id);
        const mine = running.get(id);
        if (mine) {
          const renewed = await ctx.redis.eval(RENEW, 1, leaseKey(id), owner, PULL_LEASE_MS);
          if (!renewed) await stopOne(id, 'lease lost');
          else if (mine.uri !== g.uri) await stopOne(id, 'uri changed'); // started again below on the next scan
          continue;
        }
        if (closed) break;
        const got = await ctx.redis.set(leaseKey(id), owner, 'PX', PULL_LEASE_MS, 'NX');
        if (got !== 'OK') continue;
        ctx.log.info({ stream_id: id }, 'pull started');
        running.set(id, { puller: new StreamPuller(ctx, record, g.uri), uri: g.uri });
        metrics.pullStreams.set(running.size);
      }
      for (const id of [...running.keys()]) if (!wanted.has(id)) await stopOne(id, 'stream no longer pulls (inactive, pull off, or deleted)');
    } catch (err) {
      ctx.log.warn({ err }, 'pull scan failed');
    } finally {
      busy = false;
    }
  };

  const timer = setInterval(() => void scan(), SCAN_MS);
  void scan();
  return {
    streams: () => [...running.keys()],
    async close() {
      closed = true;
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 20));
      await Promise.all([...running.keys()].map((id) => stopOne(id, 'shutdown')));
    },
  };
}
