// The calls into the ingest timeline scripts (src/redis/lua/commit.lua).
// Each script names every key it touches (SPEC 9), so the chunk and init
// keys a call may commit are read just before it. Which chunks enter is
// only settled inside the script, though (an upload can complete a run of
// chunks uploaded earlier): a call that finds it lacks a key stops that
// rendition there, with nothing half done, and names what it lacked; it is
// then called again (advance_timeline.lua) with those keys.
import type { Context } from '../context.js';
import { ingestKeys } from '../redis/script-keys.js';
import { runKeyed } from '../redis/scripts.js';

export type CommitResult = [playlist: string, member: string, start: string];

/** Bytes no playlist lists within this time are dropped. */
export const UNLISTED_GRACE_MS = 120_000;
/** A call again commits at least the chunk the last one lacked; past this the cleaner's pass goes on. */
const MAX_AGAIN = 16;
/** Listings read ahead per rendition for a call again (commit.lua keeps at most 256 waiting). */
const READ_AHEAD = 64;

type Script = 'storeChunk' | 'ingestPlaylist' | 'advanceTimeline';
interface Wanted { pl: string; chunks: string[]; inits: string[] }
export interface TimelineCall {
  playlists: string[];
  chunkIds: string[];
  initIds: string[];
  /** The script's own arguments (ARGV[7] on). */
  args?: (string | number | Buffer)[];
}

// cjson writes an empty Lua table as {}.
const list = <T>(x: unknown): T[] => (Array.isArray(x) ? (x as T[]) : []);
const unique = (xs: string[]): string[] => [...new Set(xs)];
/** The ids an HMGET found (each once). */
export const idsFound = (ids: (string | null)[]): string[] => unique(ids.filter((id): id is string => id !== null));

async function once(ctx: Context, streamId: number, script: Script, call: TimelineCall): Promise<[CommitResult[], Wanted[]]> {
  const keys = ingestKeys(ctx.keys.stream, streamId, call.playlists, call.chunkIds, call.initIds);
  const [committed, wanted] = await runKeyed<[CommitResult[], string[]]>(ctx.redis, script, keys, [
    JSON.stringify(call.playlists), JSON.stringify(call.chunkIds), JSON.stringify(call.initIds),
    ctx.clock.now(), UNLISTED_GRACE_MS, ctx.config.vodHoldSeconds * 1000, ...(call.args ?? []),
  ]);
  return [list<CommitResult>(committed), list<string>(wanted).map((w) => JSON.parse(w) as Wanted)];
}

/** Chunk ids of the listings waiting on these renditions whose bytes are here. */
export async function waitingChunkIds(ctx: Context, streamId: number, playlists: string[]): Promise<string[]> {
  if (playlists.length === 0) return [];
  const k = ctx.keys.stream;
  const pipe = ctx.redis.pipeline();
  for (const pl of playlists) pipe.zrange(k.waiting(streamId, pl), 0, READ_AHEAD - 1);
  const uris = ((await pipe.exec()) ?? []).flatMap(([err, r]) => (err ? [] : (r as string[])));
  if (uris.length === 0) return [];
  return idsFound(await ctx.redis.hmget(k.uploaded(streamId), ...uris));
}

/** Runs one ingest script, then calls again while it lacked keys. Every chunk committed, in order. */
export async function runTimeline(ctx: Context, streamId: number, script: Script, call: TimelineCall): Promise<CommitResult[]> {
  let [committed, wanted] = await once(ctx, streamId, script, call);
  for (let i = 0; wanted.length > 0 && i < MAX_AGAIN; i++) {
    const playlists = unique(wanted.map((w) => w.pl));
    const chunkIds = unique([...wanted.flatMap((w) => list<string>(w.chunks)), ...(await waitingChunkIds(ctx, streamId, playlists))]);
    const initIds = unique(wanted.flatMap((w) => list<string>(w.inits)));
    const [more, again] = await once(ctx, streamId, 'advanceTimeline', { playlists, chunkIds, initIds });
    committed = committed.concat(more);
    wanted = again;
  }
  if (wanted.length > 0) ctx.log.debug({ stream_id: streamId, wanted: wanted.length }, 'timeline left for the cleaner to commit');
  return committed;
}
