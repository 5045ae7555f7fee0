// Chunk bytes kept in each process's memory within CHUNK_CACHE_BYTES. A
// chunk never changes once stored (a re-sent one gets a new id), so its bytes
// are read from Redis once per process however many viewers ask: the live
// edge and the clips being watched are what everyone asks for. Access is
// still checked on every request (chunk-read.ts): only the bytes are cached.
import type { Context } from '../context.js';
import { perService } from '../util/per-service.js';
import { Lru } from '../util/lru.js';

/** Map entry, key and Buffer object, roughly. */
const ENTRY_OVERHEAD = 160;

export class ChunkCache {
  private readonly lru: Lru<Buffer>;
  private readonly reading = new Map<string, Promise<Buffer | null>>();

  constructor(readonly maxBytes: number) {
    this.lru = new Lru(maxBytes, (b) => b.length + ENTRY_OVERHEAD);
  }

  get(key: string): Buffer | undefined {
    return this.lru.get(key);
  }

  /** Keeps `bytes` (exactly: a slice of a larger socket buffer would hold all of it). */
  set(key: string, bytes: Buffer): void {
    if (this.maxBytes === 0 || bytes.length === 0) return;
    const exact = bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? bytes : copy(bytes);
    this.lru.set(key, exact);
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  /** The read of `key` in flight, if any: concurrent misses share it. */
  inFlight(key: string): Promise<Buffer | null> | undefined {
    return this.reading.get(key);
  }

  track(key: string, read: Promise<Buffer | null>): void {
    this.reading.set(key, read);
    const done = () => this.reading.delete(key);
    read.then(done, done);
  }

  get bytes(): number {
    return this.lru.weight;
  }

  get size(): number {
    return this.lru.size;
  }
}

function copy(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(out);
  return out;
}

/** The chunk cache of a running service. */
export const chunkCacheOf = perService((ctx: Context) => new ChunkCache(ctx.config.chunkCacheBytes));
