// At worker start: the VOD files are the truth for finished VODs. A folder
// whose video.json says ready while Redis has no record (or an unfinished
// one: Redis lost its last writes) gets its record back from the manifest,
// and the video id sequence is moved past every folder, so a Redis that
// restarted empty never hands out an id whose folder exists.
// Cost: one directory listing and one HGET per VOD; manifests are read only
// for the VODs that need them.
import type { Context } from '../context.js';
import { NUMERIC_ID } from '../ids.js';
import { readManifest } from './manifest.js';
import { saveVideo } from './records.js';
import { indexVideosByStream } from './stream-index.js';
import type { VodStorage } from './storage.js';

const RAISE_TO = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

const BATCH = 500;

export interface ReconcileResult {
  folders: number;
  restored: number[];
  /** Folders with neither a finished manifest nor a record: a promotion Redis forgot. */
  orphans: number[];
}

/** Math.max(...ids) spreads its argument on the stack: V8 throws past ~150k ids. */
export function largest(ids: number[]): number {
  let max = -Infinity;
  for (const id of ids) if (id > max) max = id;
  return max;
}

export async function reconcileVods(ctx: Context, storage: VodStorage): Promise<ReconcileResult> {
  await indexVideosByStream(ctx);
  const ids = (await storage.children('')).filter((name) => NUMERIC_ID.test(name)).map(Number).filter(Number.isSafeInteger);
  const result: ReconcileResult = { folders: ids.length, restored: [], orphans: [] };
  if (ids.length === 0) return result;
  await ctx.redis.eval(RAISE_TO, 1, ctx.keys.videoSeq, String(largest(ids)));
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = ids.slice(i, i + BATCH);
    const statuses = await Promise.all(batch.map((id) => ctx.redis.hget(ctx.keys.video(id), 'status')));
    for (const [j, id] of batch.entries()) {
      if (statuses[j] === 'ready') continue;
      const manifest = await readManifest(storage, id);
      if (manifest) {
        await saveVideo(ctx, manifest);
        result.restored.push(id);
      } else if (statuses[j] === null) {
        result.orphans.push(id);
      }
    }
  }
  if (result.restored.length > 0) ctx.log.warn({ video_ids: result.restored }, 'vod records restored from their manifests');
  if (result.orphans.length > 0) ctx.log.warn({ video_ids: result.orphans }, 'vod folders with no record and no finished manifest');
  return result;
}
