// Download links of a recording's videos (SPEC 7.3): which file a link
// names, the URL handed out, and the file it leads to.
import type { Context } from '../context.js';
import type { DownloadTokens } from '../tenancy/download-tokens.js';
import { NUMERIC_ID, RENDITION_NAME } from '../ids.js';
import { vodLayout } from '../vod/layout.js';
import { loadVideo, RENDITION_VIDEO_ID, type RenditionVideo, type VideoRecord } from '../vod/records.js';

/** The URL path a download token is bound to: one rendition's MP4. */
export function distributionPath(videoId: number, renditionVideoId: string): string {
  return `/distribution/${videoId}/${renditionVideoId}.mp4`;
}

// Path separators, quotes, control characters, and what Windows refuses in a name.
const UNSAFE = /[/\\"<>:|?*\u0000-\u001f\u007f]+/g;

/** A file name for Content-Disposition: none of UNSAFE, at most 200 characters, ending in .mp4. */
export function downloadFilename(raw: string | undefined, fallback: string): string {
  let name = (raw ?? '').replace(UNSAFE, '_').trim();
  if (name === '' || name === '.mp4') name = fallback.replace(UNSAFE, '_').trim() || 'video';
  name = name.replace(/\.mp4$/i, '').slice(0, 196).trim();
  return `${name || 'video'}.mp4`;
}

export async function downloadUrl(
  ctx: Context, tokens: DownloadTokens, video: VideoRecord, rendition: RenditionVideo,
): Promise<string> {
  const path = distributionPath(video.id, rendition.id);
  const query = new URLSearchParams({
    filename: downloadFilename(video.name, rendition.id),
    access_token: await tokens.issue(path),
  });
  return `${ctx.config.publicBaseUrl}${path}?${query}`;
}

export interface DownloadFile {
  video: VideoRecord;
  rendition: RenditionVideo;
  /** Storage path of the MP4. */
  file: string;
}

const DISTRIBUTED_FILE = /^(vid-[A-Za-z0-9]{20,64})\.mp4$/;

/** The MP4 behind /distribution/{recordID}/{file}, or null if there is none (now). */
export async function findDownload(ctx: Context, recordId: string, file: string): Promise<DownloadFile | null> {
  const named = DISTRIBUTED_FILE.exec(file);
  if (!NUMERIC_ID.test(recordId) || !named || !RENDITION_VIDEO_ID.test(named[1])) return null;
  const video = await loadVideo(ctx, Number(recordId));
  const rendition = video?.videos.find((r) => r.id === named[1]);
  if (!video || !rendition || video.status !== 'ready' || !RENDITION_NAME.test(rendition.rendition)) return null;
  return { video, rendition, file: vodLayout.mp4(video.id, rendition.rendition) };
}
