// The stream's `screenshot` field: the URL of its newest tile, under the
// stream's hls_url folder. The URL names the tile's chunk, so it never
// changes content and answers 404 once that chunk has left the DVR.
import type { Context } from '../context.js';
import type { StreamRecord } from '../dvr/streams.js';
import { newestTile } from './storyboard.js';

export async function screenshotUrl(ctx: Context, stream: StreamRecord): Promise<string | null> {
  const chunkId = await newestTile(ctx, stream);
  return chunkId ? `${ctx.config.publicBaseUrl}/live/${stream.client_id}_${stream.id}/${stream.play_key}/${chunkId}.jpg` : null;
}
