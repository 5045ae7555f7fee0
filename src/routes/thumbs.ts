// Thumbnails beside the playback URLs: a clip's poster and storyboard under
// /rec/{c}_{s}/, the live window's storyboard and tiles under the stream's
// hls_url folder. Public like the rest of playback: the clip id (or the
// stream's play key) is the secret, and anything else answers 404.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Context } from '../context.js';
import { CHUNK_ID } from '../dvr/chunk-ref.js';
import { idFragment } from '../ids.js';
import { clipPoster } from '../thumbs/poster.js';
import { clipSheet, clipStoryboard, findClip, findLiveStream, liveSheet, liveStoryboard, liveTile } from '../thumbs/storyboard.js';

const { clip, numeric } = idFragment;
const OWNER = new RegExp(`^(${numeric})_(${numeric})$`);
const CLIP_FILE = new RegExp(`^rec_(${clip})_(poster\\.jpg|storyboard\\.vtt|storyboard_([0-9]{1,6})\\.jpg)$`);
const LIVE_SHEET = /^storyboard_([0-9]{1,9})\.jpg$/;
const PLAY_KEY = /^[A-Za-z0-9_-]{16}$/;
const WIDTH = /^[1-9][0-9]{0,4}$/;
const CHANGING = 'public, max-age=1';
const VTT = 'text/vtt; charset=utf-8';

function owner(segment: string): { clientId: number; streamId: number } | null {
  const m = OWNER.exec(segment);
  return m ? { clientId: Number(m[1]), streamId: Number(m[2]) } : null;
}

function notFound(reply: FastifyReply, what = 'the clip does not exist or has expired'): FastifyReply {
  return reply.status(404).header('cache-control', 'no-store').send({ message: `Not found: ${what}` });
}

function until(expiration: number, nowMs: number, immutable = false): string {
  const seconds = Math.max(0, Math.min(31536000, Math.floor(expiration - nowMs / 1000)));
  return `public, max-age=${seconds}${immutable ? ', immutable' : ''}`;
}

export async function thumbRoutes(app: FastifyInstance, { ctx }: { ctx: Context }): Promise<void> {
  // Any web page may load these, like the rest of playback. Preflights are
  // answered for every path by the playback plugin's CORS (one OPTIONS * route).
  app.addHook('onSend', async (_request, reply) => {
    reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', 'Retry-After');
  });
  const opts = { schema: { hide: true }, logLevel: 'warn' as const };

  app.get<{ Params: { owner: string; file: string }; Querystring: Record<string, string> }>(
    '/rec/:owner/:file(^rec_[a-z0-9]{16}_(?:poster\\.jpg|storyboard\\.vtt|storyboard_[0-9]{1,6}\\.jpg)$)', opts,
    async (request, reply) => {
      const who = owner(request.params.owner);
      const file = CLIP_FILE.exec(request.params.file);
      if (!who || !file) return notFound(reply);
      const found = await findClip(ctx, who.clientId, who.streamId, file[1]);
      if (!found) return notFound(reply);
      const now = ctx.clock.now();
      if (file[2] === 'poster.jpg') {
        const width = request.query.width;
        if (width !== undefined && !WIDTH.test(width)) {
          return reply.status(400).send({ message: 'width must be a whole number of pixels, 1 to 99999' });
        }
        const jpeg = await clipPoster(ctx, found, width === undefined ? undefined : Number(width));
        if (!jpeg) {
          return reply.status(425).header('retry-after', '2').header('cache-control', 'no-store')
            .send({ message: 'The clip has no picture yet: its first chunk has not arrived' });
        }
        return reply.header('content-type', 'image/jpeg').header('cache-control', until(found.expiration, now, true)).send(jpeg);
      }
      if (file[2] === 'storyboard.vtt') {
        const board = await clipStoryboard(ctx, found);
        return reply.header('content-type', VTT).header('cache-control', board.complete ? until(found.expiration, now) : CHANGING).send(board.vtt);
      }
      const sheet = await clipSheet(ctx, found, Number(file[3]), request.query.v);
      if (!sheet) return notFound(reply, 'no tile on this sheet');
      return reply.header('content-type', 'image/jpeg')
        .header('cache-control', sheet.current ? until(found.expiration, now, true) : CHANGING).send(sheet.jpeg);
    },
  );

  const live = async (params: { owner: string; key: string }) => {
    const who = owner(params.owner);
    if (!who || !PLAY_KEY.test(params.key)) return null;
    return findLiveStream(ctx, who.clientId, who.streamId, params.key);
  };

  app.get<{ Params: { owner: string; key: string } }>('/live/:owner/:key/storyboard.vtt', opts, async (request, reply) => {
    const stream = await live(request.params);
    if (!stream) return notFound(reply, 'no such stream');
    const board = await liveStoryboard(ctx, stream);
    return reply.header('content-type', VTT).header('cache-control', CHANGING).send(board.vtt);
  });

  app.get<{ Params: { owner: string; key: string; file: string }; Querystring: Record<string, string> }>(
    '/live/:owner/:key/:file(^(?:storyboard_[0-9]{1,9}|[0-9a-z]{1,13})\\.jpg$)', opts, async (request, reply) => {
      const stream = await live(request.params);
      if (!stream) return notFound(reply, 'no such stream');
      const file = request.params.file;
      const sheetFile = LIVE_SHEET.exec(file);
      if (sheetFile) {
        const sheet = await liveSheet(ctx, stream, Number(sheetFile[1]), request.query.v);
        if (!sheet) return notFound(reply, 'no tile on this sheet');
        return reply.header('content-type', 'image/jpeg').header('cache-control', sheet.current ? 'public, max-age=60' : CHANGING).send(sheet.jpeg);
      }
      const chunkId = file.slice(0, -4);
      const tile = CHUNK_ID.test(chunkId) ? await liveTile(ctx, stream.id, chunkId) : null;
      if (!tile) return notFound(reply, 'no such tile (its chunk left the DVR, or its tile is not made yet)');
      // A tile never changes while its chunk lives.
      return reply.header('content-type', 'image/jpeg').header('cache-control', 'public, max-age=3600').send(tile);
    },
  );
}
