// What a playback request checks in Redis besides the bytes (the clip or
// stream that grants access, whether Redis still holds the chunk) is asked
// once per GRANT_MEMO_MS per process, not once per viewer: under many
// viewers a Redis round trip per request would cost more than sending the
// bytes from memory. So a clip deleted through another process stops playing
// here within that time (one deleted through this process at once, see
// forgetGrants), as it does at an edge cache within EDGE_REVALIDATE_SECONDS;
// expirations are checked against the clock on every request by the callers.
import type { Context } from '../context.js';
import { perService } from '../util/per-service.js';

export const GRANT_MEMO_MS = 1000;
/** Entries kept before the memo starts over (each is a few hundred bytes). */
const MAX_ENTRIES = 50_000;

export class GrantMemo {
  private readonly entries = new Map<string, { value: unknown; until: number }>();

  get<T>(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > Date.now()) return entry.value as T;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: unknown): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, until: Date.now() + GRANT_MEMO_MS });
  }

  /** Drops every entry whose key contains `fragment`. */
  forget(fragment: string): void {
    for (const key of this.entries.keys()) if (key.includes(fragment)) this.entries.delete(key);
  }
}

export const grantMemoOf = perService((_ctx: Context) => new GrantMemo());

/** A clip deleted through this process: its URLs answer 404 from the next request on. */
export function forgetGrants(ctx: Context, streamId: number, clipId: string): void {
  grantMemoOf(ctx).forget(ctx.keys.stream.clip(streamId, clipId));
}
