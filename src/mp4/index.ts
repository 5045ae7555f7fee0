// Just-in-time MP4 of clips: the Mp4Handler that the playback route calls for
// /rec/{c}_{s}/rec_{clip}_{master|media_N_H}.mp4: the clip's lifecycle
// (404, 425, 200) at the edge, then the cache (cache.ts) and the bytes (serve.ts).
import type { FastifyReply } from 'fastify';
import { loadClip, type ClipRecord } from '../clips/records.js';
import type { Context } from '../context.js';
import { retryWhileUp } from '../redis/health.js';
import type { Mp4Handler } from '../routes/playback.js';
import { Mp4Cache, Mp4Unavailable } from './cache.js';
import { contentDisposition } from './http-rules.js';
import { registerPrebuild, unregisterPrebuild } from './prebuild.js';
import { warmUpFfmpeg } from './remux.js';
import { closeBackgroundQueue } from '../util/background.js';
import { sendMp4 } from './serve.js';

export interface Mp4Service {
  handler: Mp4Handler;
  cache: Mp4Cache;
  close(): Promise<void>;
}

function refuse(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.status(status).header('cache-control', 'no-store').send({ message });
}

/** Seconds until a recording clip should be ready: its window's end, the chunk that closes it, and the finalize check. */
function retryAfter(ctx: Context, clip: ClipRecord): number {
  const untilEnd = Math.ceil((clip.we - ctx.clock.now()) / 1000);
  return Math.max(1, untilEnd) + Math.max(1, clip.tdur) + 1;
}

export async function createMp4Service(ctx: Context): Promise<Mp4Service> {
  const cache = new Mp4Cache(ctx);
  await cache.start();
  warmUpFfmpeg(ctx.log);
  registerPrebuild(ctx, cache);

  const handler: Mp4Handler = async (reply, owner, clipId, which, query, range) => {
    // Input first: a bad filename is refused before Redis or the disk is touched.
    const name = contentDisposition((query as Record<string, unknown>).filename);
    if (!name.ok) return refuse(reply, 400, `invalid filename: ${name.message}`);
    // Many first requests arrive together while a remux starts: one slow
    // answer on a busy machine is no reason for a 503.
    const clip = await retryWhileUp(ctx.redis, () => loadClip(ctx, owner.streamId, clipId));
    if (!clip) cache.store.forgetClip(owner.streamId, clipId);
    if (!clip || clip.client_id !== owner.clientId || clip.status === 'failed') {
      return refuse(reply, 404, 'Not found: the clip does not exist or has expired');
    }
    if (clip.status === 'recording') {
      reply.header('retry-after', String(retryAfter(ctx, clip)));
      return refuse(reply, 425, 'the clip is still recording; its MP4 can be fetched once it is ready');
    }
    // Renditions are ordered by rising bandwidth: master is the last one.
    const rendition = which === 'master' ? clip.renditions.at(-1) : clip.renditions.find((r) => r.name === which);
    if (!rendition) return refuse(reply, 404, `Not found: the clip has no rendition ${which}`);
    let file;
    try {
      file = await cache.open(clip, rendition);
    } catch (err) {
      if (!(err instanceof Mp4Unavailable)) throw err;
      if (err.status === 503) reply.header('retry-after', '5');
      return refuse(reply, err.status, err.message);
    }
    const ifRange = reply.request.headers['if-range'];
    return sendMp4(reply, file, {
      range,
      ifRange: typeof ifRange === 'string' ? ifRange : undefined,
      disposition: name.disposition,
      maxAge: clip.expiration - ctx.clock.now() / 1000,
    });
  };

  return {
    handler,
    cache,
    async close() {
      unregisterPrebuild(ctx);
      // Queued prebuilds are dropped, running ones aborted with the cache.
      const background = closeBackgroundQueue(ctx);
      await cache.close();
      await background;
    },
  };
}

export { clipRunStreams, killAllFfmpeg, remuxTsToMp4 } from './remux.js';
