// Loads the Lua scripts once and exposes them as typed calls. Each script is
// lib.lua followed by its own body, so helpers are shared without
// redis.call('FUNCTION') (which a Redis Cluster would have to replicate).
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const here = new URL('./lua/', import.meta.url);
const lib = readFileSync(new URL('lib.lua', here), 'utf8');
const commit = readFileSync(new URL('commit.lua', here), 'utf8');

function source(name: string, withCommit = false): string {
  return [lib, withCommit ? commit : '', readFileSync(new URL(`${name}.lua`, here), 'utf8')].join('\n');
}

/** Scripts that still build their keys from `base` (ARGV[1]); KEYS[1] only routes the call. */
const scripts = {
  storeChunk: source('store_chunk', true),
  ingestPlaylist: source('ingest_playlist', true),
  advanceTimeline: source('advance_timeline', true),
} as const;

/**
 * Scripts that touch only the keys they are given in KEYS (the lists are
 * built in src/redis/script-keys.ts), as a Redis Cluster proxy or a slot
 * migration requires.
 */
const keyedScripts = {
  createClip: source('create_clip'),
  finalizeClip: source('finalize_clip'),
  releaseClip: source('release_clip'),
  setClipField: source('set_clip_field'),
  dropDvr: source('drop_dvr'),
  trimWindow: source('trim_window'),
  sweepRetention: source('sweep_retention'),
  forgetUpload: source('forget_upload'),
} as const;

export type ScriptName = keyof typeof scripts;
export type KeyedScriptName = keyof typeof keyedScripts;
type Arg = string | number | Buffer;

/** Lua source of a keyed script (the benchmark times it with EVALSHA). */
export function keyedScriptSource(name: KeyedScriptName): string {
  return keyedScripts[name];
}

/** Runs a script by SHA, loading it on a NOSCRIPT reply (after a Redis restart, say). */
export function defineScripts(redis: Redis): void {
  for (const [name, lua] of Object.entries(scripts)) {
    if (!(name in redis)) redis.defineCommand(name, { lua, numberOfKeys: 1 });
  }
  // No numberOfKeys: each call says how many keys it passes.
  for (const [name, lua] of Object.entries(keyedScripts)) {
    if (!(name in redis)) redis.defineCommand(name, { lua });
  }
}

/** Runs a script that names every key it touches; `keys` must share one hash slot. */
export function runKeyed<T = unknown>(redis: Redis, name: KeyedScriptName, keys: string[], args: Arg[]): Promise<T> {
  const call = (redis as unknown as Record<string, (...a: Arg[]) => Promise<T>>)[name];
  if (!call) throw new Error(`script ${name} was not defined on this connection`);
  return call.apply(redis, [keys.length, ...keys, ...args]);
}

/**
 * Every script works inside one stream: `base` is that stream's tagged key
 * prefix. Its meta key goes as KEYS[1] only so a cluster client routes the
 * call to the right node; the scripts build their keys from ARGV[1].
 */
export function runScript<T = unknown>(redis: Redis, name: ScriptName, base: string, args: Arg[]): Promise<T> {
  const call = (redis as unknown as Record<string, (...a: Arg[]) => Promise<T>>)[name];
  if (!call) throw new Error(`script ${name} was not defined on this connection`);
  return call.apply(redis, [`${base}:meta`, base, ...args]);
}
