// Loads the Lua scripts once and exposes them as typed calls. Each script is
// lib.lua followed by its own body, so helpers are shared without
// redis.call('FUNCTION') (which a Redis Cluster would have to replicate).
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { guarded } from './key-guard.js';

const here = new URL('./lua/', import.meta.url);
const lib = readFileSync(new URL('lib.lua', here), 'utf8');
const commit = readFileSync(new URL('commit.lua', here), 'utf8');

function source(name: string, withCommit = false): string {
  return guarded([lib, withCommit ? commit : '', readFileSync(new URL(`${name}.lua`, here), 'utf8')].join('\n'));
}

/**
 * Scripts that touch only the keys they are given in KEYS (the lists are
 * built in src/redis/script-keys.ts), as a Redis Cluster proxy or a slot
 * migration requires.
 */
const keyedScripts = {
  // The ingest timeline (commit.lua, shared by the three).
  storeChunk: source('store_chunk', true),
  ingestPlaylist: source('ingest_playlist', true),
  advanceTimeline: source('advance_timeline', true),
  createClip: source('create_clip'),
  finalizeClip: source('finalize_clip'),
  releaseClip: source('release_clip'),
  setClipField: source('set_clip_field'),
  dropDvr: source('drop_dvr'),
  trimWindow: source('trim_window'),
  sweepRetention: source('sweep_retention'),
  forgetUpload: source('forget_upload'),
} as const;

export type KeyedScriptName = keyof typeof keyedScripts;
type Arg = string | number | Buffer;

/** Lua source of a keyed script (the benchmark times it with EVALSHA). */
export function keyedScriptSource(name: KeyedScriptName): string {
  return keyedScripts[name];
}

/** Runs a script by SHA, loading it on a NOSCRIPT reply (after a Redis restart, say). */
export function defineScripts(redis: Redis): void {
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
