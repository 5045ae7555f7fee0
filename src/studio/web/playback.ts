// The two players: the live one over the timeline (its playhead, scrubbing,
// preview from In to Out, a restart once a stream that made it give up is
// live again) and the one that plays a clip from the list.
import type { Clip, Stream } from './api.js';
import { clockTime } from './format.js';
import { notify } from './notice.js';
import { selectionProblem } from './selection.js';
import { $, clipPlayer, page, player, timeline, windowOf } from './state.js';

export function playLive(stream: Stream): void {
  page.playerFailed = false;
  player.load(stream.hls_url, { live: true });
  void player.video.play().catch(() => undefined);
}

/** Only a player that gave up starts again; a running one catches up by itself. */
export function restartFailedPlayer(stream: Stream): void {
  if (page.playerFailed) playLive(stream);
}

export function playClip(clip: Clip): void {
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

export function wirePlayback(): void {
  $('clip-player-close').addEventListener('click', () => {
    clipPlayer.stop();
    $('clip-player-box').hidden = true;
  });
  $('preview').addEventListener('click', () => {
    const problem = selectionProblem(page.sel, windowOf(page.current));
    if (problem) return notify(problem);
    page.previewUntil = page.sel.out;
    if (!player.seekWall(page.sel.in!)) return notify('The player has not started yet: try again in a moment.');
    void player.video.play().catch(() => undefined);
  });
  timeline.onSeek = (t) => {
    page.previewUntil = null;
    page.scrubbedTo = player.seekWall(t) ? null : t;
    timeline.setPlayhead(t);
  };
  player.onError = (message) => {
    page.playerFailed = true;
    notify(page.current && !page.current.live ? `${message} (the stream is offline)` : message);
  };
  clipPlayer.onError = (message) => notify(message);
  player.video.addEventListener('timeupdate', () => {
    if (page.scrubbedTo !== null && player.seekWall(page.scrubbedTo)) page.scrubbedTo = null;
    const t = player.wallTime();
    timeline.setPlayhead(t);
    if (page.previewUntil !== null && t !== null && t >= page.previewUntil) {
      player.video.pause();
      page.previewUntil = null;
      notify('Preview reached Out.', 'info');
    }
  });
}
