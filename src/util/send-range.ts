// The status and length headers of a file sent with single byte ranges: 200
// (whole), 206 with Content-Range, or 416 with `Content-Range: bytes */size`.
// The caller sets its own headers first (Accept-Ranges, type, caching, ETag,
// disposition), gives the bytes, and writes its API family's 416 body.
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { parseRange } from '../mp4/http-rules.js';
import type { ByteRange } from '../vod/storage.js';

export interface RangeSender {
  /** The payload: the whole file when range is undefined. */
  body(range: ByteRange | undefined): unknown;
  /** Sends the 416 body; status and Content-Range are already set. */
  unsatisfiable(reply: FastifyReply): FastifyReply | Promise<FastifyReply>;
  /** A HEAD request reads nothing: whatever body() would have released, release here. */
  skipped?(): void | Promise<void>;
}

/**
 * The payload of this request. HEAD gets an empty stream instead of the
 * file (Fastify would drain a real one), and not `undefined`, for which
 * Fastify's HEAD handling would reset Content-Length to 0.
 */
async function payload(reply: FastifyReply, sender: RangeSender, range: ByteRange | undefined): Promise<unknown> {
  if (reply.request.method !== 'HEAD') return sender.body(range);
  await sender.skipped?.();
  return Readable.from([]);
}

export async function sendRange(
  reply: FastifyReply, size: number, rangeHeader: string | undefined, sender: RangeSender,
): Promise<FastifyReply> {
  const answer = parseRange(rangeHeader, size);
  if (answer.kind === 'unsatisfiable') {
    return sender.unsatisfiable(reply.status(416).header('content-range', `bytes */${size}`));
  }
  if (answer.kind === 'whole') {
    reply.header('content-length', String(size));
    return reply.send(await payload(reply, sender, undefined));
  }
  const { start, end } = answer;
  reply.status(206).header('content-range', `bytes ${start}-${end}/${size}`).header('content-length', String(end - start + 1));
  return reply.send(await payload(reply, sender, { start, end }));
}
