// What the page holds while it runs: the signed-in client, the company's
// streams, the one selected and its clips, the In and Out marks; and the
// page's two players and its timeline. The other modules read and set it.
import type { Api, Clip, Stream, Video } from './api.js';
import { Player } from './player.js';
import type { Selection, Window } from './selection.js';
import { Timeline } from './timeline.js';

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export const page = {
  api: null as Api | null,
  streams: [] as Stream[],
  current: null as Stream | null,
  clips: [] as Clip[],
  videos: new Map<number, Video>(),
  sel: { in: null, out: null } as Selection,
  /** Preview: where the live player pauses (Out), while it plays In to Out. */
  previewUntil: null as number | null,
  /** A scrub made before the player knew its wall clock: applied once it does. */
  scrubbedTo: null as number | null,
  /** The live player gave up (a fatal error): it is started again when the stream comes back. */
  playerFailed: false,
  polls: [] as number[],
};

export const player = new Player($<HTMLVideoElement>('live-video'));
export const clipPlayer = new Player($<HTMLVideoElement>('clip-video'));
export const timeline = new Timeline($('timeline'));

export function windowOf(stream: Stream | null): Window | null {
  if (!stream || !stream.dvr_range) return null;
  return { start: stream.dvr_range.start * 1000, end: stream.dvr_range.end * 1000, dvrEnabled: stream.dvr_enabled, dvrDuration: stream.dvr_duration };
}
