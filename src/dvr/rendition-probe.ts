// Learns each rendition's codecs, resolution and frame rate by probing its
// first chunks, and whether those chunks open on a keyframe.
import type { Context } from '../context.js';
import { readInit } from './init-segments.js';
import { probeChunk } from './probe.js';
import type { RenditionFacts } from './renditions.js';

const CHUNKS_TO_PROBE = 2;

/**
 * One service's probes (made in src/service.ts, in the context): renditions
 * already probed enough, so the hot path skips Redis; probes running; probes
 * under way, so a shutdown can wait for them instead of cutting them off
 * mid-write.
 */
export class RenditionProbes {
  readonly done = new Set<string>();
  readonly running = new Set<string>();
  private readonly inflight = new Set<Promise<void>>();

  probe(ctx: Context, streamId: number, playlist: string, chunkId: string, init?: string): Promise<void> {
    const probe = probeOnce(ctx, this, streamId, playlist, chunkId, init);
    this.inflight.add(probe);
    const forget = () => void this.inflight.delete(probe);
    probe.then(forget, forget);
    return probe;
  }

  /** Resolves once every probe started so far has ended (service shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }
}

/** `init`: an fMP4 chunk's init segment id; ffprobe reads the chunk after it. */
export function probeRendition(ctx: Context, streamId: number, playlist: string, chunkId: string, init?: string): Promise<void> {
  return ctx.probes.probe(ctx, streamId, playlist, chunkId, init);
}

async function probeOnce(ctx: Context, probes: RenditionProbes, streamId: number, playlist: string, chunkId: string, init?: string): Promise<void> {
  const { done, running } = probes;
  const key = `${ctx.keys.prefix}:${streamId}:${playlist}`;
  if (done.has(key) || running.has(key)) return;
  running.add(key);
  try {
    const hash = ctx.keys.stream.renditions(streamId);
    const stored = await ctx.redis.hget(hash, playlist);
    const facts: RenditionFacts = stored ? JSON.parse(stored) : {};
    if ((facts.probedChunks ?? 0) >= CHUNKS_TO_PROBE) {
      done.add(key);
      return;
    }
    const chunk = await ctx.redis.hgetBuffer(ctx.keys.stream.chunk(streamId, chunkId), 'b');
    // An fMP4 media segment alone has no track description: the init goes first.
    const initBytes = init ? await readInit(ctx, streamId, init) : null;
    if (!chunk || (init && !initBytes)) return;
    const bytes = initBytes ? Buffer.concat([initBytes, chunk]) : chunk;
    const probe = await probeChunk(bytes, { timeoutMs: 15_000 });
    const next: RenditionFacts = {
      width: probe.width ?? facts.width,
      height: probe.height ?? facts.height,
      frameRate: probe.frameRate ?? facts.frameRate,
      codecs: probe.codecs || facts.codecs,
      keyframeAligned: (facts.keyframeAligned ?? true) && probe.keyframeAtStart,
      probedChunks: (facts.probedChunks ?? 0) + 1,
    };
    await ctx.redis.hset(hash, playlist, JSON.stringify(next));
    if (!probe.keyframeAtStart) {
      ctx.log.warn({ stream_id: streamId, playlist }, 'chunk does not open on a keyframe: set the encoder GOP to the chunk length');
    }
    ctx.log.info({ stream_id: streamId, playlist, ...next }, 'rendition probed');
  } finally {
    running.delete(key);
  }
}
