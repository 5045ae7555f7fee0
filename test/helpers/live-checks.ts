// The checks gateway tests share (vitest's expect): kept apart from
// live-service.ts, which the gateway benchmark also imports outside vitest.
import { expect } from 'vitest';
import { decodeErrors, mediaDuration, untilClipReady, type LiveService } from './live-service.js';

/**
 * A clip from the past (ready at once) and one reaching past the DVR's newest
 * chunk (recording, then ready once the chunks arrive), both inside what the
 * DVR holds: packaging runs a chunk or two behind the publisher.
 */
export async function pastAndLiveClips(s: LiveService, id: number, readyWhat: string): Promise<{ past: { status: number; body: any }; ready: any }> {
  const { body: { dvr_range: range } } = await s.api('GET', `/streaming/streams/${id}`);
  const past = await s.api('PUT', `/streaming/streams/${id}/clip_recording`, { duration: 2, start: range.end - 5 });
  expect(past.body.status).toBe('ready');
  // Not "now": a ladder on a busy machine can run behind the wall clock.
  const live = await s.api('PUT', `/streaming/streams/${id}/clip_recording`, { duration: 3, start: range.end - 1 });
  expect(live.status, JSON.stringify(live.body)).toBe(200);
  return { past, ready: await untilClipReady(s, id, live.body.id, readyWhat, 60_000) };
}

/** Every rendition of the clip decodes and lasts what the cutting rule allows: the asked span, at most one chunk more at each edge; its MP4 decodes. */
export async function expectClipPlays(clip: any, renditions: number, chunkSeconds: number): Promise<void> {
  expect(clip.renditions).toHaveLength(renditions);
  expect(await decodeErrors(clip.hls_master)).toBe('');
  for (const rendition of clip.renditions) {
    const duration = await mediaDuration(clip.hls_master.replace('_master.m3u8', `_${rendition}.m3u8`));
    expect(duration).toBeGreaterThanOrEqual(clip.duration - 0.1);
    expect(duration).toBeLessThanOrEqual(clip.duration + 2 * chunkSeconds + 0.2);
  }
  expect(await decodeErrors(clip.mp4_master)).toBe('');
}
