// Bounds on what a client may hold: a request must arrive whole within a
// time limit (headers, then body; longer for an encoder's upload), and the
// uploads received at once are bounded per stream and in all, so a slow or
// stalled client cannot hold a connection or buffer memory for long.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { errorBody } from './errors.js';

/**
 * Options of the HTTP server itself: Node checks every second that request
 * headers came within HEADERS_TIMEOUT_MS and whole requests within the
 * longest request limit (ingest's); `cutSlowBodies` applies the shorter limit
 * to the other APIs.
 */
export function serverTimeouts(config: Config) {
  const longest = Math.max(config.requestTimeoutMs, config.ingestTimeoutMs);
  return {
    requestTimeout: longest,
    // A connection with nothing going either way this long is closed.
    connectionTimeout: longest,
    http: { headersTimeout: Math.min(config.headersTimeoutMs, longest), connectionsCheckingInterval: 1000 },
  };
}

const isIngest = (request: FastifyRequest) => request.url.startsWith('/ingest/');

/** A request whose body is still arriving after its limit gets a 408 and its connection closed. */
export function cutSlowBodies(app: FastifyInstance, config: Config): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.complete) return; // no body, or all of it is here
    const limitMs = isIngest(request) ? config.ingestTimeoutMs : config.requestTimeoutMs;
    const timer = setTimeout(() => {
      if (request.raw.complete || reply.sent) return;
      request.log.info({ limit_ms: limitMs }, 'request body not received in time: connection closed');
      const body = JSON.stringify(errorBody(408, `the request body did not arrive within ${limitMs} ms`));
      const socket = request.raw.socket;
      socket.end(`HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      setTimeout(() => socket.destroy(), 1000).unref();
    }, limitMs);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
  });
}

/** Uploads in flight, per stream and in all; past a bound the encoder is told to retry. */
export class UploadSlots {
  private total = 0;
  private readonly perStream = new Map<number, number>();

  constructor(private readonly maxPerStream: number, private readonly maxTotal: number) {}

  /** A release function, or null when a bound is reached. */
  acquire(streamId: number): (() => void) | null {
    const mine = this.perStream.get(streamId) ?? 0;
    if (mine >= this.maxPerStream || this.total >= this.maxTotal) return null;
    this.perStream.set(streamId, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perStream.get(streamId) ?? 1) - 1;
      if (left > 0) this.perStream.set(streamId, left);
      else this.perStream.delete(streamId);
    };
  }
}

export const UPLOAD_RETRY_AFTER_SECONDS = 1;
