// The clip list, newest first as the API lists it. Items are kept while
// their clip is unchanged (so focus stays put across polls), rebuilt when its
// status changes, and removed when the API stops listing it (expired, deleted).
import { clipFile, type Clip, type Video } from './api.js';
import { clockTime, duration } from './format.js';

export interface ClipActions {
  play(clip: Clip): void;
  copy(text: string, what: string): void;
  remove(clip: Clip): void;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function button(label: string, onClick: () => void, aria?: string): HTMLButtonElement {
  const b = el('button', { type: 'button', className: 'ghost', textContent: label });
  if (aria) b.setAttribute('aria-label', aria);
  b.addEventListener('click', onClick);
  return b;
}

const VOD_WORDS: Record<Video['status'], string> = {
  pending: 'VOD: waiting for the clip', processing: 'VOD: copying…', ready: 'VOD: ready', error: 'VOD: failed',
};

function item(clip: Clip, video: Video | undefined, actions: ClipActions): HTMLLIElement {
  const when = `${clockTime(clip.start * 1000)}, ${duration(clip.duration)}`;
  const li = el('li', { className: 'clip' });
  li.dataset.clipId = clip.id;
  li.dataset.status = clip.status;
  li.setAttribute('aria-label', `Clip from ${when}, ${clip.status}`);
  const poster = el('img', { alt: `Poster of the clip from ${clockTime(clip.start * 1000)}`, loading: 'lazy', width: 96, height: 54 });
  poster.addEventListener('error', () => poster.replaceWith(el('div', { className: 'no-poster', textContent: 'No picture yet' })));
  poster.src = `${clipFile(clip, 'poster.jpg')}?width=192`;
  const status = el('span', { className: `status ${clip.status}`, textContent: clip.status });
  const meta = el('div', { className: 'meta' },
    el('strong', { textContent: when }), status, el('br'),
    el('span', { className: 'muted', textContent: `expires ${clockTime(clip.expiration * 1000)}` }));
  if (clip.video_id !== null) {
    meta.append(el('br'), el('span', { className: 'vod', textContent: video ? VOD_WORDS[video.status] : 'VOD: …' }));
  }
  const ready = clip.status === 'ready';
  const download = el('a', { className: 'button', textContent: 'Download MP4', href: `${clip.mp4_master}?filename=clip-${clip.id}.mp4` });
  download.setAttribute('download', `clip-${clip.id}.mp4`);
  download.dataset.action = 'download';
  if (!ready) {
    download.setAttribute('aria-disabled', 'true');
    download.tabIndex = -1;
  }
  const buttons = el('div', { className: 'buttons' },
    button('Play', () => actions.play(clip), `Play the clip from ${when}`),
    button('Copy HLS', () => actions.copy(clip.hls_master, 'HLS link'), 'Copy the HLS link'),
    button('Copy MP4', () => actions.copy(clip.mp4_master, 'MP4 link'), 'Copy the MP4 link'),
    download,
    button('Delete', () => actions.remove(clip), `Delete the clip from ${when}`));
  li.append(poster, meta, buttons);
  return li;
}

function signature(clip: Clip, video: Video | undefined): string {
  return `${clip.status}|${video?.status ?? ''}`;
}

export function renderClips(list: HTMLUListElement, clips: Clip[], videos: Map<number, Video>, actions: ClipActions): void {
  const existing = new Map<string, HTMLLIElement>();
  for (const li of Array.from(list.children) as HTMLLIElement[]) existing.set(li.dataset.clipId ?? '', li);
  const next: HTMLLIElement[] = clips.map((clip) => {
    const video = clip.video_id === null ? undefined : videos.get(clip.video_id);
    const old = existing.get(clip.id);
    if (old && old.dataset.sig === signature(clip, video)) return old;
    const fresh = item(clip, video, actions);
    fresh.dataset.sig = signature(clip, video);
    // Keep the keyboard user where they were when an item is rebuilt.
    if (old && old.contains(document.activeElement)) queueMicrotask(() => (fresh.querySelector('button') as HTMLButtonElement).focus());
    return fresh;
  });
  const keep = new Set(next);
  for (const li of existing.values()) if (!keep.has(li)) li.remove();
  next.forEach((li, i) => {
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
}
