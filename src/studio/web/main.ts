// The clip studio: sign in with an API key, pick a stream, watch its DVR
// window over a thumbnail timeline, mark In and Out, clip, and manage clips.
// Everything goes through the public API, as a script would.
import { Api, ApiError, liveFile, type Clip, type ClipRequest, type Stream, type Video } from './api.js';
import { renderClips } from './clips.js';
import { clockTime, duration } from './format.js';
import { Player } from './player.js';
import { clipRequest, lastSeconds, nudge, selectionProblem, type Selection, type Window } from './selection.js';
import { Timeline } from './timeline.js';
import { parseStoryboard } from './vtt.js';

const KEY = 'studio.apiKey';
const STREAM = 'studio.streamId';
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let api: Api | null = null;
let streams: Stream[] = [];
let current: Stream | null = null;
let clips: Clip[] = [];
const videos = new Map<number, Video>();
let sel: Selection = { in: null, out: null };
let previewUntil: number | null = null;
/** A scrub made before the player knew its wall clock: applied once it does. */
let scrubbedTo: number | null = null;
let playerFailed = false;
let polls: number[] = [];

const player = new Player($<HTMLVideoElement>('live-video'));
const clipPlayer = new Player($<HTMLVideoElement>('clip-video'));
const timeline = new Timeline($('timeline'));

// ------------------------------------------------------------ messages

let noticeTimer = 0;
function notify(message: string, kind: 'error' | 'info' = 'error'): void {
  const box = $('notice');
  box.textContent = message;
  box.className = `notice ${kind}`;
  box.hidden = false;
  window.clearTimeout(noticeTimer);
  if (kind === 'info') noticeTimer = window.setTimeout(() => (box.hidden = true), 6000);
}

/** Runs an API call; a refused key signs out, any other API error is shown as the API words it. */
async function attempt<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut('The API key was refused: it is wrong or has been revoked. Enter a valid key.');
    } else if (err instanceof ApiError) {
      notify(err.message);
    } else {
      notify(`The service cannot be reached (${(err as Error).message}).`);
    }
    return undefined;
  }
}

// ------------------------------------------------------------ sign in

function signOut(message?: string): void {
  sessionStorage.removeItem(KEY);
  api = null;
  polls.forEach((p) => window.clearInterval(p));
  polls = [];
  player.stop();
  clipPlayer.stop();
  $('main').hidden = true;
  $('sign-out').hidden = true;
  document.querySelector<HTMLElement>('.stream-pick')!.hidden = true;
  $('stream-state').hidden = true;
  $('sign-in').hidden = false;
  if (message) notify(message);
  else $('notice').hidden = true;
  $<HTMLInputElement>('api-key').focus();
}

async function signIn(key: string): Promise<void> {
  const candidate = new Api(key);
  try {
    streams = await candidate.streams();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) signOut('The API key was refused: it is wrong or has been revoked. Enter a valid key.');
    else notify(err instanceof ApiError ? err.message : `The service cannot be reached (${(err as Error).message}).`);
    return;
  }
  api = candidate;
  sessionStorage.setItem(KEY, key);
  $('sign-in').hidden = true;
  $('notice').hidden = true;
  $('main').hidden = false;
  $('sign-out').hidden = false;
  document.querySelector<HTMLElement>('.stream-pick')!.hidden = false;
  fillStreams();
  const remembered = Number(sessionStorage.getItem(STREAM));
  const first = streams.find((s) => s.id === remembered) ?? streams[0];
  if (first) selectStream(first.id);
  else notify('Your company has no stream yet: create one with POST /streaming/streams.', 'info');
  polls = [
    window.setInterval(() => void refreshStream(), 2000),
    window.setInterval(() => void refreshStoryboard(), 4000),
    window.setInterval(() => void refreshClips(), 2000),
    window.setInterval(() => void refreshStreams(), 10000),
  ];
}

// ------------------------------------------------------------ streams

function fillStreams(): void {
  const select = $<HTMLSelectElement>('stream-select');
  const chosen = current?.id;
  select.replaceChildren(...streams.map((s) => {
    const o = document.createElement('option');
    o.value = String(s.id);
    o.textContent = `${s.name} (${s.live ? 'live' : 'offline'})`;
    o.selected = s.id === chosen;
    return o;
  }));
}

async function refreshStreams(): Promise<void> {
  if (!api) return;
  const list = await attempt(() => api!.streams());
  if (!list) return;
  streams = list;
  fillStreams();
  if (current && !list.some((s) => s.id === current!.id)) {
    notify('The stream was deleted.');
    current = null;
    player.stop();
    if (list[0]) selectStream(list[0].id);
  }
}

function selectStream(id: number): void {
  const stream = streams.find((s) => s.id === id);
  if (!stream) return;
  current = stream;
  sessionStorage.setItem(STREAM, String(id));
  sel = { in: null, out: null };
  clips = [];
  $('clip-list').replaceChildren();
  fillStreams();
  showStream(stream, null);
  playerFailed = false;
  player.load(stream.hls_url, { live: true });
  void player.video.play().catch(() => undefined);
  void refreshStoryboard();
  void refreshClips();
}

function windowOf(stream: Stream | null): Window | null {
  if (!stream || !stream.dvr_range) return null;
  return { start: stream.dvr_range.start * 1000, end: stream.dvr_range.end * 1000, dvrEnabled: stream.dvr_enabled, dvrDuration: stream.dvr_duration };
}

function showStream(stream: Stream, before: Stream | null): void {
  const state = $('stream-state');
  state.hidden = false;
  state.textContent = stream.live ? 'Live' : 'Offline';
  state.className = `badge ${stream.live ? 'on' : 'off'}`;
  $('live-badge').hidden = !stream.live;
  const win = windowOf(stream);
  $('range').textContent = !stream.dvr_enabled
    ? 'DVR is disabled for this stream: nothing to clip from.'
    : win
      ? `DVR ${clockTime(win.start)} – ${clockTime(win.end)} (${duration((win.end - win.start) / 1000)} held, up to ${duration(stream.dvr_duration)})`
      : 'The DVR holds nothing yet.';
  if (win) timeline.setWindow(win.start, win.end);
  for (const id of ['make-clip', 'last-30', 'preview']) $<HTMLButtonElement>(id).disabled = !win || !stream.dvr_enabled;
  if (before?.live && !stream.live) notify('The stream went offline. What the DVR holds can still be clipped.', 'info');
  if (before && !before.live && stream.live) {
    notify('The stream is live again.', 'info');
    // Only a player that gave up starts again; a running one catches up by itself.
    if (playerFailed) {
      playerFailed = false;
      player.load(stream.hls_url, { live: true });
      void player.video.play().catch(() => undefined);
    }
  }
  renderSelection();
}

async function refreshStream(): Promise<void> {
  if (!api || !current) return;
  const id = current.id;
  const fresh = await attempt(() => api!.stream(id));
  if (!fresh || current?.id !== id) return;
  const before = current;
  current = fresh;
  streams = streams.map((s) => (s.id === id ? fresh : s));
  showStream(fresh, before);
}

async function refreshStoryboard(): Promise<void> {
  if (!current) return;
  const url = new URL(liveFile(current, 'storyboard.vtt'), location.href).toString();
  try {
    const res = await fetch(url, { cache: 'no-store' });
    if (res.ok) timeline.setTiles(parseStoryboard(await res.text(), url));
  } catch {
    // No thumbnails this time; the timeline still works without them.
  }
}

// ------------------------------------------------------------ In and Out

function renderSelection(): void {
  timeline.setSelection(sel);
  $('in-time').textContent = sel.in === null ? '–' : clockTime(sel.in);
  $('out-time').textContent = sel.out === null ? '–' : clockTime(sel.out);
  const problem = sel.in !== null && sel.out !== null ? selectionProblem(sel, windowOf(current)) : null;
  $('sel-info').textContent = problem ?? (sel.in !== null && sel.out !== null ? `Selection: ${duration((sel.out - sel.in) / 1000)}` : '');
}

function position(): number | null {
  return scrubbedTo ?? player.wallTime() ?? windowOf(current)?.end ?? null;
}

function setMark(which: 'in' | 'out', t: number | null = position()): void {
  if (t === null) return;
  sel = { ...sel, [which]: t };
  renderSelection();
}

function nudgeMark(which: 'in' | 'out', direction: 1 | -1): void {
  const t = sel[which] ?? position();
  if (t !== null) setMark(which, nudge(t, direction, timeline.boundaries()));
}

// ------------------------------------------------------------ clips

function expiresAfter(): number {
  return Number($<HTMLSelectElement>('expires').value);
}

async function makeClip(request: ClipRequest): Promise<void> {
  if (!api || !current) return;
  const id = current.id;
  const clip = await attempt(() => api!.createClip(id, request));
  if (!clip) return;
  notify(`Clip made (${duration(clip.duration)}, ${clip.status}).`, 'info');
  await refreshClips();
}

async function refreshClips(): Promise<void> {
  if (!api || !current) return;
  const id = current.id;
  const list = await attempt(() => api!.clips(id));
  if (!list || current?.id !== id) return;
  clips = list;
  await Promise.all(clips.filter((c) => c.video_id !== null && videos.get(c.video_id)?.status !== 'ready').map(async (c) => {
    try {
      videos.set(c.video_id!, await api!.video(c.video_id!));
    } catch {
      // Shown as "VOD: …" until the next poll.
    }
  }));
  $('clips-empty').hidden = clips.length > 0;
  renderClips($<HTMLUListElement>('clip-list'), clips, videos, {
    play: (clip) => playClip(clip),
    copy: (text, what) => void copy(text, what),
    remove: (clip) => void removeClip(clip),
  });
}

function playClip(clip: Clip): void {
  $('clip-player-box').hidden = false;
  const state = $('clip-player-state');
  state.textContent = `Playing the clip from ${clockTime(clip.start * 1000)}…`;
  delete state.dataset.ended;
  clipPlayer.load(clip.hls_master);
  const video = clipPlayer.video;
  video.onended = () => {
    state.textContent = 'Played to the end.';
    state.dataset.ended = clip.id;
  };
  void video.play().catch(() => undefined);
  video.focus();
}

async function copy(text: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (a plain-http address): the old way.
    const area = Object.assign(document.createElement('textarea'), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  notify(`${what} copied: ${text}`, 'info');
}

async function removeClip(clip: Clip): Promise<void> {
  if (!api) return;
  const done = await attempt(async () => (await api!.deleteClip(clip.stream_id, clip.id), true));
  if (done) notify('Clip deleted.', 'info');
  await refreshClips();
}

// ------------------------------------------------------------ wiring

$('sign-in-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const key = $<HTMLInputElement>('api-key').value.trim();
  if (key) void signIn(key);
});
$('sign-out').addEventListener('click', () => signOut());
$('stream-select').addEventListener('change', (e) => selectStream(Number((e.target as HTMLSelectElement).value)));
$('set-in').addEventListener('click', () => setMark('in'));
$('set-out').addEventListener('click', () => setMark('out'));
$('in-back').addEventListener('click', () => nudgeMark('in', -1));
$('in-fwd').addEventListener('click', () => nudgeMark('in', 1));
$('out-back').addEventListener('click', () => nudgeMark('out', -1));
$('out-fwd').addEventListener('click', () => nudgeMark('out', 1));
$('clip-player-close').addEventListener('click', () => {
  clipPlayer.stop();
  $('clip-player-box').hidden = true;
});
$('preview').addEventListener('click', () => {
  const problem = selectionProblem(sel, windowOf(current));
  if (problem) return notify(problem);
  previewUntil = sel.out;
  if (!player.seekWall(sel.in!)) return notify('The player has not started yet: try again in a moment.');
  void player.video.play().catch(() => undefined);
});
$('clip-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const problem = selectionProblem(sel, windowOf(current));
  if (problem) return notify(problem);
  void makeClip(clipRequest({ in: sel.in!, out: sel.out! }, expiresAfter(), $<HTMLInputElement>('keep-vod').checked));
});
$('last-30').addEventListener('click', async () => {
  await refreshStream();
  const win = windowOf(current);
  const problem = !win ? 'This stream has nothing in its DVR yet.' : !win.dvrEnabled ? 'DVR is disabled for this stream: there is nothing to clip from.' : null;
  if (problem) return notify(problem);
  void makeClip(lastSeconds(win!, 30, expiresAfter(), $<HTMLInputElement>('keep-vod').checked));
});
timeline.onSeek = (t) => {
  previewUntil = null;
  scrubbedTo = player.seekWall(t) ? null : t;
  timeline.setPlayhead(t);
};
player.onError = (message) => {
  playerFailed = true;
  notify(current && !current.live ? `${message} (the stream is offline)` : message);
};
clipPlayer.onError = (message) => notify(message);
player.video.addEventListener('timeupdate', () => {
  if (scrubbedTo !== null && player.seekWall(scrubbedTo)) scrubbedTo = null;
  const t = player.wallTime();
  timeline.setPlayhead(t);
  if (previewUntil !== null && t !== null && t >= previewUntil) {
    player.video.pause();
    previewUntil = null;
    notify('Preview reached Out.', 'info');
  }
});
document.addEventListener('keydown', (e) => {
  const target = e.target as HTMLElement;
  if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) || $('main').hidden) return;
  if (e.key === 'i' || e.key === 'I') setMark('in');
  else if (e.key === 'o' || e.key === 'O') setMark('out');
  else return;
  e.preventDefault();
});

const saved = sessionStorage.getItem(KEY);
if (saved) void signIn(saved);
else signOut();
