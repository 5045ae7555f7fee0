// video.json: the record of a finished VOD, stored with its files. It is the
// last file a promotion writes, so its presence means the media is complete;
// it brings the record back if Redis loses it (reconcile.ts).
import { vodLayout } from './layout.js';
import type { VideoRecord } from './records.js';
import { readStored, type VodStorage } from './storage.js';

export async function writeManifest(storage: VodStorage, video: VideoRecord): Promise<void> {
  await storage.put(vodLayout.manifest(video.id), JSON.stringify(video, null, 2) + '\n');
}

/** The finished record of a VOD folder, or null (none, unreadable, or not this VOD's). */
export async function readManifest(storage: VodStorage, videoId: number): Promise<VideoRecord | null> {
  try {
    const bytes = await readStored(storage, vodLayout.manifest(videoId));
    if (!bytes) return null;
    const record = JSON.parse(bytes.toString('utf8')) as VideoRecord;
    const whole = record.id === videoId && record.status === 'ready' && Number.isInteger(record.client_id)
      && Array.isArray(record.videos) && Boolean(record.secret);
    return whole ? record : null;
  } catch {
    return null;
  }
}
