// Sends a cached MP4: whole (200), one range (206) or none (416), and HEAD.
// From memory, the range is a slice of the Buffer (no copy); from disk, a read
// stream of just that range.
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { sendRange } from '../util/send-range.js';

/** Large reads: fewer syscalls and socket writes per request (cached ranges are the hot path). */
const READ_CHUNK = 1024 * 1024;

/** A cached MP4: its bytes in memory, or an open file (closed by sendMp4). */
export interface OpenedMp4 {
  bytes?: Buffer;
  handle?: FileHandle;
  size: number;
  mtimeMs: number;
}

export interface ServeOptions {
  range?: string;
  ifRange?: string;
  disposition?: string;
  /** Seconds a cache may keep the file: the clip's remaining life. */
  maxAge: number;
}

export function etagOf(file: Pick<OpenedMp4, 'size' | 'mtimeMs'>): string {
  // A rebuild (after eviction) gets a new mtime, so a resumed download
  // (If-Range) never splices bytes of two different builds.
  return `"${file.size.toString(36)}-${Math.floor(file.mtimeMs).toString(36)}"`;
}

export async function sendMp4(reply: FastifyReply, file: OpenedMp4, opts: ServeOptions): Promise<FastifyReply> {
  const etag = etagOf(file);
  // If-Range with another validator: the client's copy is stale, send it all.
  const range = opts.ifRange !== undefined && opts.ifRange !== etag ? undefined : opts.range;
  reply
    .header('content-type', 'video/mp4')
    .header('accept-ranges', 'bytes')
    .header('etag', etag)
    .header('cache-control', `public, max-age=${Math.max(0, Math.floor(opts.maxAge))}`);
  if (opts.disposition) reply.header('content-disposition', opts.disposition);
  return sendRange(reply, file.size, range, {
    async unsatisfiable(r) {
      await file.handle?.close();
      return r
        .header('content-type', 'application/json; charset=utf-8')
        .send({ message: `range not satisfiable: the file has ${file.size} bytes` });
    },
    async skipped() {
      await file.handle?.close();
    },
    async body(part) {
      if (file.size === 0) {
        await file.handle?.close();
        return Readable.from([]);
      }
      const { start, end } = part ?? { start: 0, end: file.size - 1 };
      if (file.bytes) return file.bytes.subarray(start, end + 1);
      // autoClose (the default) closes the handle at the end or on a client abort.
      return createReadStream('', { fd: file.handle!, start, end, highWaterMark: READ_CHUNK });
    },
  });
}
