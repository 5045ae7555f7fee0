// The events room's Lua scripts. Each names its keys in KEYS; those that
// record events get lib.lua's outbox_push, the one owner of the entry format.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { guarded } from '../redis/key-guard.js';

const lib = readFileSync(new URL('../redis/lua/lib.lua', import.meta.url), 'utf8');
const own = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

const scripts = {
  evOutboxAck: { keys: 1, lua: own('outbox_ack') },
  evStreamOffline: { keys: 2, lua: `${lib}\n${own('stream_offline')}` },
  evVideoUpdate: { keys: 2, lua: `${lib}\n${own('video_update')}` },
  evChainAdd: { keys: 4, lua: own('chain_add') },
  evChainSettle: { keys: 3, lua: own('chain_settle') },
  evChainHead: { keys: 3, lua: own('chain_head') },
  // Forgets a zset member only if nobody touched it since it was read.
  evZremIfScore: {
    keys: 1,
    lua: "if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('ZREM', KEYS[1], ARGV[1]) end return 0",
  },
} as const;

export type EventScript = keyof typeof scripts;
type Arg = string | number;

export function runEventScript<T = unknown>(redis: Redis, name: EventScript, keys: string[], args: Arg[]): Promise<T> {
  const r = redis as unknown as Record<string, (...a: Arg[]) => Promise<T>>;
  if (!r[name]) redis.defineCommand(name, { lua: guarded(scripts[name].lua), numberOfKeys: scripts[name].keys });
  return r[name].apply(redis, [...keys, ...args]);
}
