// Making clips (the selection, or the last 30 s) and the list of the
// stream's clips: polled with their VODs' progress, played, copied, deleted.
import type { Clip, ClipRequest } from './api.js';
import { renderClips } from './clips.js';
import { duration } from './format.js';
import { notify } from './notice.js';
import { playClip } from './playback.js';
import { clipRequest, lastSeconds, selectionProblem, windowProblem } from './selection.js';
import { attempt } from './session.js';
import { refreshStream } from './streams.js';
import { $, page, windowOf } from './state.js';

function expiresAfter(): number {
  return Number($<HTMLSelectElement>('expires').value);
}

async function makeClip(request: ClipRequest): Promise<void> {
  if (!page.api || !page.current) return;
  const id = page.current.id;
  const clip = await attempt(() => page.api!.createClip(id, request));
  if (!clip) return;
  notify(`Clip made (${duration(clip.duration)}, ${clip.status}).`, 'info');
  await refreshClips();
}

export async function refreshClips(): Promise<void> {
  if (!page.api || !page.current) return;
  const id = page.current.id;
  const list = await attempt(() => page.api!.clips(id));
  if (!list || page.current?.id !== id) return;
  page.clips = list;
  const { videos } = page;
  await Promise.all(page.clips.filter((c) => c.video_id !== null && videos.get(c.video_id)?.status !== 'ready').map(async (c) => {
    try {
      videos.set(c.video_id!, await page.api!.video(c.video_id!));
    } catch {
      // Shown as "VOD: …" until the next poll.
    }
  }));
  $('clips-empty').hidden = page.clips.length > 0;
  renderClips($<HTMLUListElement>('clip-list'), page.clips, videos, {
    play: (clip) => playClip(clip),
    copy: (text, what) => void copy(text, what),
    remove: (clip) => void removeClip(clip),
  });
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
  if (!page.api) return;
  const done = await attempt(async () => (await page.api!.deleteClip(clip.stream_id, clip.id), true));
  if (done) notify('Clip deleted.', 'info');
  await refreshClips();
}

export function wireClipList(): void {
  $('clip-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const problem = selectionProblem(page.sel, windowOf(page.current));
    if (problem) return notify(problem);
    void makeClip(clipRequest({ in: page.sel.in!, out: page.sel.out! }, expiresAfter(), $<HTMLInputElement>('keep-vod').checked));
  });
  $('last-30').addEventListener('click', async () => {
    await refreshStream();
    const win = windowOf(page.current);
    const problem = windowProblem(win);
    if (problem) return notify(problem);
    void makeClip(lastSeconds(win!, 30, expiresAfter(), $<HTMLInputElement>('keep-vod').checked));
  });
}
