// The clip as the API shows it. Types only, with no import: the studio page's
// browser code (src/studio/web) reads clips by this same shape.

export type ClipStatus = 'recording' | 'ready' | 'failed';

export interface ClipView {
  id: string;
  stream_id: number;
  duration: number;
  start: number;
  expiration: number;
  created_at: string;
  vod_required: boolean;
  video_id: number | null;
  renditions: string[];
  hls_master: string;
  mp4_master: string;
  status: ClipStatus;
  precise: boolean;
  accuracy: 'keyframe' | 'frame';
  cut_start: number | null;
  cut_end: number | null;
  /** Seconds from cut_start to cut_end, null until known. */
  real_duration: number | null;
  precise_error: string | null;
}
