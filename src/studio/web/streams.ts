// The stream picker and the selected stream: its live state, what its DVR
// holds (the timeline's window), its storyboard thumbnails; polled, with a
// note when it goes offline or comes back.
import { liveFile, type Stream } from './api.js';
import { refreshClips } from './clip-list.js';
import { clockTime, duration } from './format.js';
import { notify } from './notice.js';
import { playLive, restartFailedPlayer } from './playback.js';
import { renderSelection } from './marks.js';
import { attempt, rememberStream } from './session.js';
import { $, page, player, timeline, windowOf } from './state.js';
import { parseStoryboard } from './vtt.js';

export function fillStreams(): void {
  const select = $<HTMLSelectElement>('stream-select');
  const chosen = page.current?.id;
  select.replaceChildren(...page.streams.map((s) => {
    const o = document.createElement('option');
    o.value = String(s.id);
    o.textContent = `${s.name} (${s.live ? 'live' : 'offline'})`;
    o.selected = s.id === chosen;
    return o;
  }));
}

export async function refreshStreams(): Promise<void> {
  if (!page.api) return;
  const list = await attempt(() => page.api!.streams());
  if (!list) return;
  page.streams = list;
  fillStreams();
  if (page.current && !list.some((s) => s.id === page.current!.id)) {
    notify('The stream was deleted.');
    page.current = null;
    player.stop();
    if (list[0]) selectStream(list[0].id);
  }
}

export function selectStream(id: number): void {
  const stream = page.streams.find((s) => s.id === id);
  if (!stream) return;
  page.current = stream;
  rememberStream(id);
  page.sel = { in: null, out: null };
  page.clips = [];
  $('clip-list').replaceChildren();
  fillStreams();
  showStream(stream, null);
  playLive(stream);
  void refreshStoryboard();
  void refreshClips();
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
    restartFailedPlayer(stream);
  }
  renderSelection();
}

export async function refreshStream(): Promise<void> {
  if (!page.api || !page.current) return;
  const id = page.current.id;
  const fresh = await attempt(() => page.api!.stream(id));
  if (!fresh || page.current?.id !== id) return;
  const before = page.current;
  page.current = fresh;
  page.streams = page.streams.map((s) => (s.id === id ? fresh : s));
  showStream(fresh, before);
}

export async function refreshStoryboard(): Promise<void> {
  if (!page.current) return;
  const url = new URL(liveFile(page.current, 'storyboard.vtt'), location.href).toString();
  try {
    const res = await fetch(url, { cache: 'no-store' });
    if (res.ok) timeline.setTiles(parseStoryboard(await res.text(), url));
  } catch {
    // No thumbnails this time; the timeline still works without them.
  }
}

export function wireStreams(): void {
  $('stream-select').addEventListener('change', (e) => selectStream(Number((e.target as HTMLSelectElement).value)));
}
