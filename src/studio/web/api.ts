// The page's client of the public management API: exactly the calls a script
// would make with `Authorization: apikey KEY`. Errors carry the API's own words.
import type { ClipView } from '../../clips/view.js';

export interface Stream {
  id: number;
  name: string;
  dvr_enabled: boolean;
  dvr_duration: number;
  live: boolean;
  hls_url: string;
  screenshot?: string | null;
  dvr_range: { start: number; end: number } | null;
}

export type Clip = ClipView;

export interface Video {
  id: number;
  status: 'pending' | 'processing' | 'ready' | 'error';
}

export interface ClipRequest {
  start: number;
  duration: number;
  expiration?: number;
  vod_required?: boolean;
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The message an API error body carries, in either envelope the API uses. */
export function errorMessage(status: number, body: unknown): string {
  const b = body as { message?: unknown; error?: { message?: unknown } } | null;
  if (b && typeof b.message === 'string') return b.message;
  if (b && b.error && typeof b.error.message === 'string') return b.error.message;
  return `The API answered ${status}`;
}

export class Api {
  constructor(private readonly key: string, private readonly base = '') {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `apikey ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return undefined as T;
    const parsed: unknown = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, errorMessage(res.status, parsed));
    return parsed as T;
  }

  streams(): Promise<Stream[]> {
    return this.call('GET', '/streaming/streams');
  }

  stream(id: number): Promise<Stream> {
    return this.call('GET', `/streaming/streams/${id}`);
  }

  clips(streamId: number): Promise<Clip[]> {
    return this.call('GET', `/streaming/streams/${streamId}/clip_recording`);
  }

  createClip(streamId: number, request: ClipRequest): Promise<Clip> {
    return this.call('PUT', `/streaming/streams/${streamId}/clip_recording`, request);
  }

  deleteClip(streamId: number, clipId: string): Promise<void> {
    return this.call('DELETE', `/streaming/streams/${streamId}/clip_recording/${clipId}`);
  }

  video(id: number): Promise<Video> {
    return this.call('GET', `/streaming/videos/${id}`);
  }
}

/** A clip's other public files sit beside its master playlist. */
export function clipFile(clip: Pick<Clip, 'hls_master'>, file: string): string {
  return clip.hls_master.replace(/_master\.m3u8$/, `_${file}`);
}

/** The live window's storyboard sits beside the stream's hls_url. */
export function liveFile(stream: Pick<Stream, 'hls_url'>, file: string): string {
  return stream.hls_url.replace(/master\.m3u8$/, file);
}
