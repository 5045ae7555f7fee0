// In and Out on the live window, in unix ms, and the rules a selection must
// meet before it is sent (the API checks again and its word is final).
import type { ClipRequest } from './api.js';

export interface Window {
  /** unix ms: the oldest and newest moment the DVR holds */
  start: number;
  end: number;
  dvrEnabled: boolean;
  /** seconds: the longest clip the stream allows */
  dvrDuration: number;
}

export interface Selection {
  in: number | null;
  out: number | null;
}

/** Chunk boundaries (unix ms, sorted) when known; else nudges move by `fallbackMs`. */
export function nudge(t: number, direction: 1 | -1, boundaries: number[], fallbackMs = 2000): number {
  if (boundaries.length === 0) return t + direction * fallbackMs;
  if (direction > 0) return boundaries.find((b) => b > t + 1) ?? t + fallbackMs;
  for (let i = boundaries.length - 1; i >= 0; i--) if (boundaries[i] < t - 1) return boundaries[i];
  return t - fallbackMs;
}

/** Null when the stream has something to clip from; else why not, in a sentence. */
export function windowProblem(win: Window | null): string | null {
  if (!win) return 'This stream has nothing in its DVR yet.';
  if (!win.dvrEnabled) return 'DVR is disabled for this stream: there is nothing to clip from.';
  return null;
}

/** Null when the selection may be clipped; else what is wrong, in a sentence. */
export function selectionProblem(sel: Selection, win: Window | null): string | null {
  if (!win || !win.dvrEnabled) return windowProblem(win);
  if (sel.in === null) return 'Set In first (button or key I).';
  if (sel.out === null) return 'Set Out (button or key O).';
  if (sel.out <= sel.in) return 'Out is before In: set Out after In.';
  const seconds = Math.ceil((sel.out - sel.in) / 1000);
  if (seconds > win.dvrDuration) return `The selection (${seconds} s) is longer than the DVR window (${win.dvrDuration} s).`;
  if (sel.out <= win.start || sel.in >= win.end + 1000) return 'The selection lies outside what the DVR holds now.';
  if (sel.in < win.start - 1000) return 'In lies before the oldest moment the DVR holds now: move it right.';
  return null;
}

/** The API request for a selection: whole seconds covering it. */
export function clipRequest(sel: { in: number; out: number }, expiresAfterS: number, vod: boolean): ClipRequest {
  const start = Math.floor(sel.in / 1000);
  const duration = Math.max(1, Math.ceil(sel.out / 1000) - start);
  return { start, duration, expiration: start + duration + expiresAfterS, vod_required: vod };
}

/** "Clip the last 30 s": the 30 s up to the newest moment the DVR holds. */
export function lastSeconds(win: Window, seconds: number, expiresAfterS: number, vod: boolean): ClipRequest {
  const end = Math.floor(win.end / 1000);
  const duration = Math.min(seconds, win.dvrDuration);
  return { start: end - duration, duration, expiration: end + expiresAfterS, vod_required: vod };
}
