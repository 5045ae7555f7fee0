// Where each file of a VOD lives in storage, relative to the storage root:
//
//   {video_id}/master.m3u8
//   {video_id}/{rendition}.m3u8        VOD media playlist, URIs "{rendition}/00001.ts"
//   {video_id}/{rendition}/00001.ts    the chunks, counted from 1 in playlist order
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
  chunk: (videoId: number, rendition: string, segment: number) => `${videoId}/${chunkUri(rendition, segment)}`,
};

/** A chunk's URI relative to the media playlist. */
export function chunkUri(rendition: string, segment: number): string {
  return `${rendition}/${String(segment).padStart(5, '0')}.ts`;
}
