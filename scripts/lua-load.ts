// A stream at the scale SPEC 9 names (10,000 clips, a 4 h window of 2 s
// chunks in three renditions), built straight into Redis through the same
// scripts the service runs, and the retention operations timed on it with
// Redis's own SLOWLOG (the time each script call held Redis). Used by
// scripts/bench-lua.ts (figures) and test/integration/lua-cost.test.ts
// (a generous bound). Needs a Redis of its own: it sets slowlog options.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import type { Context } from '../src/context.js';
import { deleteClip } from '../src/clips/clips.js';
import { loadHeldClip } from '../src/clips/records.js';
import { ReadyHooks } from '../src/clips/ready-hooks.js';
import { RenditionProbes } from '../src/dvr/rendition-probe.js';
import { dropDvr, sweepStream } from '../src/dvr/retention.js';
import { makeKeys } from '../src/redis/keys.js';
import { createClipKeys } from '../src/redis/script-keys.js';
import { defineScripts, keyedScriptSource, runKeyed, type KeyedScriptName } from '../src/redis/scripts.js';

export const STREAM_ID = 1;
export const PLAYLISTS = ['stream_0', 'stream_1', 'stream_2'];
const CHUNK_MS = 2000;

export interface Load {
  ctx: Context;
  /** Moves the service clock (unix ms). */
  setNow(ms: number): void;
  /** The window's first chunk starts here. */
  t0: number;
  clipIds: { short: string[]; hour: string[]; long: string[] };
}

export interface Measured {
  what: string;
  /** Script calls the operation made, and the slowest of them (ms, Redis's own time). */
  calls: number;
  slowestMs: number;
  slowestScript: string;
  medianMs: number;
  totalMs: number;
  /** Redis main-thread CPU of the costliest single script call (INFO cpu around each): unlike wall time, not inflated by other processes on a busy machine. */
  slowestCpuMs: number;
  slowestCpuScript: string;
  /** Redis main-thread CPU over the whole operation, every command included. */
  redisCpuMs: number;
}

export async function buildLoad(redis: Redis, opts: { clips: number; hours: number; prefix?: string }): Promise<Load> {
  defineScripts(redis);
  let now = Math.floor(Date.now() / 1000) * 1000;
  const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', KEY_PREFIX: opts.prefix ?? 'luabench', DEMO: '0' });
  const ctx: Context = { config, redis, keys: makeKeys(config.keyPrefix), log: pino({ level: 'silent' }), clock: { now: () => now },
    readyHooks: new ReadyHooks(), probes: new RenditionProbes() };
  const k = ctx.keys.stream;
  const windowMs = opts.hours * 3600_000;
  const t0 = now - windowMs;
  await redis.hset(k.meta(STREAM_ID), { id: String(STREAM_ID), client_id: '1', dvr_enabled: '1', dvr_duration: String(opts.hours * 3600), tdur: '2' });
  const chunksPerRendition = windowMs / CHUNK_MS;
  for (const [r, pl] of PLAYLISTS.entries()) {
    await redis.hset(k.renditionSeq(STREAM_ID), pl, String(chunksPerRendition));
    for (let from = 0; from < chunksPerRendition; from += 1000) {
      const p = redis.pipeline();
      for (let n = from; n < Math.min(from + 1000, chunksPerRendition); n++) {
        const id = `${r}x${n.toString(36)}`;
        const start = t0 + n * CHUNK_MS;
        p.zadd(k.index(STREAM_ID, pl), start, `${id}|${CHUNK_MS}|188|0|0|${n}`);
        p.hset(k.chunk(STREAM_ID, id), 'b', 'x', 'p', pl, 's', String(start));
      }
      await p.exec();
    }
  }
  // Clips: mostly a minute long, a tenth an hour, one in a hundred 4 h (all of the window).
  const clipIds: Load['clipIds'] = { short: [], hour: [], long: [] };
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < opts.clips; i++) {
    const kind = i % 100 === 0 ? 'long' : i % 10 === 0 ? 'hour' : 'short';
    const duration = kind === 'long' ? opts.hours * 3600 : kind === 'hour' ? Math.min(3600, opts.hours * 3600) : 60;
    const ws = t0 + Math.floor(random() * (windowMs - duration * 1000) / 1000) * 1000;
    const id = `c${i.toString(36).padStart(15, '0')}`;
    clipIds[kind].push(id);
    // Expirations on the real clock (Redis expires records on it): one to four hours from now.
    const expires = now + 3600_000 + Math.floor(random() * 3 * 3600) * 1000;
    const fields = { id, client_id: '1', stream_id: String(STREAM_ID), duration: String(duration), start: String(ws / 1000),
      expiration: String(expires / 1000), created_at: new Date(now).toISOString(), vod_required: '0', video_id: '',
      renditions: JSON.stringify(PLAYLISTS.map((pl, n) => ({ name: `media_${n + 1}_240`, playlist: pl }))), tdur: '3' };
    pending.push(runKeyed(redis, 'createClip', createClipKeys(k, STREAM_ID, id, PLAYLISTS), [
      id, now, ws, ws + duration * 1000, expires, JSON.stringify(PLAYLISTS), JSON.stringify(fields), 0, 1_000_000,
    ]));
    if (pending.length >= 500) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  return { ctx, setNow: (ms) => void (now = ms), t0, clipIds };
}

const SCRIPT_NAMES: KeyedScriptName[] = ['createClip', 'finalizeClip', 'releaseClip', 'setClipField', 'dropDvr', 'trimWindow', 'sweepRetention', 'forgetUpload'];
const shaNames = new Map<string, string>();
function scriptName(command: string, arg: string): string {
  // EVAL (ioredis's first call of a script) carries the source, which SLOWLOG cuts short.
  if (/^eval$/i.test(command)) return '(first EVAL)';
  const sha = arg;
  if (shaNames.size === 0) {
    for (const name of SCRIPT_NAMES) {
      shaNames.set(createHash('sha1').update(keyedScriptSource(name)).digest('hex'), name);
    }
  }
  return shaNames.get(sha) ?? sha.slice(0, 8);
}

/** Runs `op` with every command logged by SLOWLOG, and reports its script calls. */
export async function measure(redis: Redis, what: string, op: () => Promise<unknown>): Promise<Measured> {
  await redis.config('SET', 'slowlog-log-slower-than', '0');
  await redis.config('SET', 'slowlog-max-len', '100000');
  await redis.slowlog('RESET');
  const cpuBefore = await redisCpu(redis);
  // Each script call is bracketed by INFO cpu on the same connection: the
  // main thread's CPU between the two is that call's (plus one INFO).
  const methods = redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const originals = new Map<string, (...a: unknown[]) => Promise<unknown>>();
  let slowestCpu: [number, string] = [0, '-'];
  for (const name of SCRIPT_NAMES) {
    const original = methods[name];
    originals.set(name, original);
    methods[name] = async (...args: unknown[]) => {
      const before = await redisCpu(redis);
      const result = await original.apply(redis, args);
      const spent = (await redisCpu(redis)) - before;
      if (spent > slowestCpu[0]) slowestCpu = [spent, name];
      return result;
    };
  }
  try {
    await op();
  } finally {
    for (const [name, original] of originals) methods[name] = original;
  }
  const redisCpuMs = (await redisCpu(redis)) - cpuBefore;
  const entries = (await redis.slowlog('GET', '100000')) as [number, number, number, string[]][];
  await redis.config('SET', 'slowlog-log-slower-than', '10000');
  const scripts = entries.filter(([, , , args]) => /^evalsha$|^eval$/i.test(args[0]));
  let slowest: [number, string] = [0, '-'];
  let total = 0;
  for (const [, , us, args] of scripts) {
    total += us;
    if (us > slowest[0]) slowest = [us, scriptName(args[0], args[1])];
  }
  const sorted = scripts.map(([, , us]) => us).sort((a, b) => a - b);
  const medianMs = (sorted[Math.floor(sorted.length / 2)] ?? 0) / 1000;
  return {
    what, calls: scripts.length, slowestMs: slowest[0] / 1000, slowestScript: slowest[1], medianMs, totalMs: total / 1000,
    slowestCpuMs: slowestCpu[0], slowestCpuScript: slowestCpu[1], redisCpuMs,
  };
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user_main_thread:([\d.]+)/.exec(info)?.[1] ?? /used_cpu_user:([\d.]+)/.exec(info)![1]);
  const sys = Number(/used_cpu_sys_main_thread:([\d.]+)/.exec(info)?.[1] ?? /used_cpu_sys:([\d.]+)/.exec(info)![1]);
  return (user + sys) * 1000;
}

/** The operations SPEC 9 names, in an order that leaves each of them real work. */
export async function runOperations(load: Load): Promise<Measured[]> {
  const { ctx } = load;
  const redis = ctx.redis;
  const k = ctx.keys.stream;
  const out: Measured[] = [];
  const end = load.t0 + (await redis.hget(k.meta(STREAM_ID), 'dvr_duration').then(Number)) * 1000;
  const create = async (what: string, duration: number) => {
    const id = `n${what.replace(/\W/g, '')}`.slice(0, 16).padEnd(16, '0');
    const ws = end - duration * 1000;
    out.push(await measure(redis, what, () => runKeyed(redis, 'createClip', createClipKeys(k, STREAM_ID, id, PLAYLISTS), [
      id, ctx.clock.now(), ws, ws + duration * 1000, ws + duration * 1000 + 3600_000, JSON.stringify(PLAYLISTS),
      JSON.stringify({ id, client_id: '1', stream_id: String(STREAM_ID), duration: String(duration), tdur: '3', renditions: '[]' }),
      0, 1_000_000,
    ])));
  };
  await create('create a 60 s clip', 60);
  await create('create a 4 h clip', Math.floor((end - load.t0) / 1000));
  // The window slides by an hour: the oldest hour's chunks retire (archive or gone).
  load.setNow(end + 3600_000);
  out.push(await measure(redis, 'trim: the window slides 1 h', () => sweepStream(ctx, STREAM_ID)));
  const del = async (what: string, id: string) => {
    const clip = (await loadHeldClip(ctx, STREAM_ID, id))!;
    out.push(await measure(redis, what, () => deleteClip(ctx, clip)));
  };
  await del('delete a 4 h clip', load.clipIds.long[0]);
  await del('delete a 1 h clip', load.clipIds.hour[0]);
  // A few hours on, thousands of clips have expired at once.
  load.setNow(end + 3 * 3600_000);
  out.push(await measure(redis, 'expire: clips past their expiration', () => sweepStream(ctx, STREAM_ID)));
  load.setNow(end + 3 * 3600_000 + 1000);
  await redis.hset(k.meta(STREAM_ID), 'dvr_duration', String(4 * 3600 + 3 * 3600));
  await sweepStream(ctx, STREAM_ID);
  await redis.hset(k.meta(STREAM_ID), 'dvr_duration', '600');
  out.push(await measure(redis, 'window shrink to 10 min', () => sweepStream(ctx, STREAM_ID)));
  out.push(await measure(redis, 'drop DVR', () => dropDvr(ctx, STREAM_ID, false)));
  return out;
}
