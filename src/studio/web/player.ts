// A <video> playing an HLS URL: hls.js where Media Source Extensions exist,
// the browser's own HLS (Safari) otherwise. Knows the wall clock of the
// playing position from the playlists' program date times.
import type HlsType from 'hls.js';

type HlsClass = typeof HlsType;
const HlsGlobal = (window as unknown as { Hls?: HlsClass }).Hls;

export class Player {
  private hls: HlsType | null = null;
  /** wall ms minus media ms, learned while playing */
  private offset: number | null = null;
  /** a seek asked for and not done yet: where the position is about to be */
  private pending: number | null = null;
  onError: (message: string) => void = () => undefined;

  constructor(readonly video: HTMLVideoElement) {
    video.addEventListener('timeupdate', () => this.learnOffset());
    video.addEventListener('seeked', () => (this.pending = null));
  }

  load(url: string, { live = false } = {}): void {
    this.stop();
    this.offset = null;
    this.pending = null;
    if (HlsGlobal && HlsGlobal.isSupported()) {
      const hls = new HlsGlobal(live ? { liveSyncDurationCount: 2, lowLatencyMode: false } : {});
      this.hls = hls;
      hls.on(HlsGlobal.Events.ERROR, (_e, data) => {
        if (data.fatal) this.onError(`Playback stopped: ${data.details}`);
      });
      hls.loadSource(url);
      hls.attachMedia(this.video);
    } else if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      this.video.src = url;
    } else {
      this.onError('This browser cannot play HLS.');
    }
  }

  stop(): void {
    this.hls?.destroy();
    this.hls = null;
    this.video.removeAttribute('src');
    this.video.load();
  }

  private learnOffset(): void {
    const date = this.hls ? this.hls.playingDate : null;
    if (date) this.offset = date.getTime() - this.video.currentTime * 1000;
    else {
      const start = (this.video as HTMLVideoElement & { getStartDate?: () => Date }).getStartDate?.();
      if (start && !Number.isNaN(start.getTime())) this.offset = start.getTime();
    }
  }

  /** Wall clock (unix ms) of the playing position, once known. */
  wallTime(): number | null {
    if (this.pending !== null) return this.pending;
    if (this.offset === null) this.learnOffset();
    return this.offset === null ? null : this.offset + this.video.currentTime * 1000;
  }

  /** Seeks to a wall-clock time; false while the mapping is not known yet. */
  seekWall(ms: number): boolean {
    if (this.offset === null) this.learnOffset();
    if (this.offset === null) return false;
    const seekable = this.video.seekable;
    let t = (ms - this.offset) / 1000;
    if (seekable.length > 0) t = Math.min(Math.max(t, seekable.start(0)), seekable.end(seekable.length - 1));
    this.video.currentTime = t;
    this.pending = this.offset + t * 1000;
    return true;
  }
}
