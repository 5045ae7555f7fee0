// Where each file of a VOD lives in storage, relative to the storage root:
//
//   {video_id}/master.m3u8
//   {video_id}/{rendition}.m3u8        VOD media playlist, URIs "{rendition}/00001.ts"
//   {video_id}/{rendition}/00001.ts    the chunks, counted from 1 in playlist order (.m4s for fMP4)
//   {video_id}/{rendition}/init_{id}.mp4  fMP4 only: each init segment (EXT-X-MAP) its chunks play with
//   {video_id}/{rendition}.mp4
//   {video_id}/video.json              the record; written last, so its presence means complete
//   {video_id}/plan.json               what the promotion copies (only while it runs)

export const vodLayout = {
  folder: (videoId: number) => String(videoId),
  master: (videoId: number) => `${videoId}/master.m3u8`,
  manifest: (videoId: number) => `${videoId}/video.json`,
  plan: (videoId: number) => `${videoId}/plan.json`,
  mediaPlaylist: (videoId: number, rendition: string) => `${videoId}/${rendition}.m3u8`,
  mp4: (videoId: number, rendition: string) => `${videoId}/${rendition}.mp4`,
  /** `segment` counts from 1. */
  chunk: (videoId: number, rendition: string, segment: number, ext: ChunkExt = 'ts') => `${videoId}/${chunkUri(rendition, segment, ext)}`,
  init: (videoId: number, rendition: string, init: string) => `${videoId}/${initUri(rendition, init)}`,
};

export type ChunkExt = 'ts' | 'm4s';

/** A chunk's URI relative to the media playlist. */
export function chunkUri(rendition: string, segment: number, ext: ChunkExt = 'ts'): string {
  return `${rendition}/${String(segment).padStart(5, '0')}.${ext}`;
}

/** An fMP4 init segment's URI relative to the media playlist. */
export function initUri(rendition: string, init: string): string {
  return `${rendition}/init_${init}.mp4`;
}
