// What the gateways read from a stream record and write back to it: which
// protocol feeds it now (stream_source_type), the last packaging error, the
// last pull error. They live in the stream's meta hash beside the fields the
// API stores (active, pull, uri, transcode).
import type { Context } from '../context.js';
import { streamForIngestKey } from '../dvr/ingest.js';
import type { StreamRecord } from '../dvr/streams.js';

export type SourceType = 'rtmp' | 'srt' | 'https' | 'pull';
export type Transcode = 'source' | 'abr';

/** How long a source mark lives without being renewed: a process that died leaves no stale "rtmp". */
export const SOURCE_MARK_TTL_MS = 30_000;

export interface GatewayStream {
  record: StreamRecord;
  active: boolean;
  transcode: Transcode;
  pull: boolean;
  uri: string;
}

const truthy = (v: string | undefined, fallback: boolean) =>
  v === undefined || v === '' ? fallback : v === '1' || v === 'true';

export async function gatewayStream(ctx: Context, record: StreamRecord): Promise<GatewayStream> {
  const [active, transcode, pull, uri] = await ctx.redis.hmget(ctx.keys.stream.meta(record.id), 'active', 'transcode', 'pull', 'uri');
  return {
    record,
    active: truthy(active ?? undefined, true),
    transcode: transcode === 'abr' ? 'abr' : 'source',
    pull: truthy(pull ?? undefined, false),
    uri: uri ?? '',
  };
}

export async function gatewayStreamForKey(ctx: Context, key: string): Promise<GatewayStream | null> {
  const record = await streamForIngestKey(ctx, key);
  return record ? gatewayStream(ctx, record) : null;
}

function sourceKey(ctx: Context, streamId: number): string {
  return `${ctx.keys.stream.tag(streamId)}:source`;
}

/** Marks (or renews) what feeds the stream now. */
export async function markSource(ctx: Context, streamId: number, type: SourceType): Promise<void> {
  await ctx.redis.set(sourceKey(ctx, streamId), type, 'PX', SOURCE_MARK_TTL_MS);
}

/**
 * The source left: its mark stays only as long as its last chunks keep the
 * stream `live` (three target durations), and only if it still names this
 * protocol (another may have taken over).
 */
export async function clearSource(ctx: Context, streamId: number, type: SourceType, lingerMs: number): Promise<void> {
  await ctx.redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
    1, sourceKey(ctx, streamId), type, Math.max(1, Math.round(lingerMs)),
  );
}

export async function sourceOf(ctx: Context, streamId: number): Promise<SourceType | null> {
  return (await ctx.redis.get(sourceKey(ctx, streamId))) as SourceType | null;
}

/** The last problem a gateway or the puller had with this stream ('' clears it). */
export async function setStreamError(ctx: Context, streamId: number, field: 'ingest_error' | 'pull_error', message: string): Promise<void> {
  const key = ctx.keys.stream.meta(streamId);
  if (message) {
    // Only on a stream that still exists: HSET would bring a deleted one back as a stub.
    await ctx.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 0",
      1, key, field, message.slice(0, 500),
    );
  } else {
    await ctx.redis.hdel(key, field);
  }
}

export async function streamErrors(ctx: Context, streamId: number): Promise<{ ingest_error: string | null; pull_error: string | null }> {
  const [ingest, pull] = await ctx.redis.hmget(ctx.keys.stream.meta(streamId), 'ingest_error', 'pull_error');
  return { ingest_error: ingest || null, pull_error: pull || null };
}
