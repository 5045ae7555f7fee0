// The timeline under the player: the whole DVR window with storyboard
// thumbnails, wall-clock ticks, In and Out, the playhead and the live edge.
// Pointer drags and the arrow keys move the playhead (the `onSeek` callback).
import { clockTime, tickStep, ticks } from './format.js';
import { nudge } from './selection.js';
import { tileAt, type Tile } from './vtt.js';

const CELL_PX = 64;

export class Timeline {
  private start = 0;
  private end = 0;
  private tiles: Tile[] = [];
  private playhead: number | null = null;
  private sel: { in: number | null; out: number | null } = { in: null, out: null };
  private readonly images = new Map<string, HTMLImageElement>();
  private readonly loaded = new Map<string, HTMLImageElement>();
  onSeek: (ms: number) => void = () => undefined;

  constructor(private readonly root: HTMLElement) {
    const scrubber = this.part('scrubber');
    let dragging = false;
    const seekTo = (e: PointerEvent) => this.onSeek(this.timeAt(e.clientX));
    scrubber.addEventListener('pointerdown', (e) => {
      dragging = true;
      scrubber.setPointerCapture(e.pointerId);
      seekTo(e);
    });
    scrubber.addEventListener('pointermove', (e) => dragging && seekTo(e));
    scrubber.addEventListener('pointerup', () => (dragging = false));
    scrubber.addEventListener('keydown', (e) => this.key(e));
    new ResizeObserver(() => this.render()).observe(root);
  }

  private part(name: string): HTMLElement {
    return this.root.querySelector(`[data-part="${name}"]`) as HTMLElement;
  }

  /** Chunk boundaries known from the storyboard (one tile per chunk). */
  boundaries(): number[] {
    return this.tiles.map((t) => t.start);
  }

  setWindow(start: number, end: number): void {
    this.start = start;
    this.end = Math.max(end, start + 1000);
    this.render();
  }

  setTiles(tiles: Tile[]): void {
    this.tiles = tiles;
    this.render();
  }

  setPlayhead(ms: number | null): void {
    this.playhead = ms;
    this.renderMarks();
  }

  setSelection(sel: { in: number | null; out: number | null }): void {
    this.sel = sel;
    this.renderMarks();
  }

  private timeAt(clientX: number): number {
    const box = this.root.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - box.left) / Math.max(1, box.width)));
    return this.start + f * (this.end - this.start);
  }

  private pct(t: number): string {
    const f = (t - this.start) / (this.end - this.start);
    return `${Math.min(100, Math.max(0, f * 100))}%`;
  }

  private key(e: KeyboardEvent): void {
    const at = this.playhead ?? this.end;
    let next: number | null = null;
    if (e.key === 'ArrowLeft') next = e.shiftKey ? at - 10_000 : nudge(at, -1, this.boundaries());
    else if (e.key === 'ArrowRight') next = e.shiftKey ? at + 10_000 : nudge(at, 1, this.boundaries());
    else if (e.key === 'Home') next = this.start;
    else if (e.key === 'End') next = this.end;
    if (next === null) return;
    e.preventDefault();
    const t = Math.min(this.end, Math.max(this.start, next));
    // Where the next key press starts from, before the player reports back.
    this.setPlayhead(t);
    this.onSeek(t);
  }

  render(): void {
    this.renderStrip();
    this.renderTicks();
    this.renderMarks();
  }

  private renderMarks(): void {
    const show = (name: string, t: number | null) => {
      const el = this.part(name);
      el.hidden = t === null;
      if (t !== null) el.style.left = this.pct(t);
    };
    show('in', this.sel.in);
    show('out', this.sel.out);
    show('playhead', this.playhead);
    const range = this.part('range');
    range.hidden = this.sel.in === null || this.sel.out === null;
    if (this.sel.in !== null && this.sel.out !== null) {
      const [a, b] = this.sel.in <= this.sel.out ? [this.sel.in, this.sel.out] : [this.sel.out, this.sel.in];
      range.style.left = this.pct(a);
      range.style.width = `calc(${this.pct(b)} - ${this.pct(a)})`;
      range.classList.toggle('bad', this.sel.out <= this.sel.in);
    }
    const scrubber = this.part('scrubber');
    const at = this.playhead ?? this.end;
    scrubber.setAttribute('aria-valuemin', String(Math.floor(this.start / 1000)));
    scrubber.setAttribute('aria-valuemax', String(Math.floor(this.end / 1000)));
    scrubber.setAttribute('aria-valuenow', String(Math.floor(at / 1000)));
    scrubber.setAttribute('aria-valuetext', `${clockTime(at)}${at >= this.end - 3000 ? ' (live edge)' : ''}`);
  }

  private renderTicks(): void {
    const box = this.part('ticks');
    const width = this.root.clientWidth;
    const step = tickStep(this.end - this.start, width);
    box.replaceChildren(...ticks(this.start, this.end, step).map((t) => {
      const tick = document.createElement('span');
      tick.className = 'tick';
      tick.style.left = this.pct(t);
      tick.textContent = clockTime(t).slice(0, step % 60_000 === 0 ? 5 : 8);
      return tick;
    }));
  }

  /**
   * The sheet image for a tile URL. Places never move on a sheet, so while a
   * newer version of a sheet loads, the last loaded one still draws right.
   */
  private image(url: string): HTMLImageElement | null {
    const sheet = url.split('?')[0];
    let img = this.images.get(url);
    if (!img) {
      const loading = new Image();
      loading.onload = () => {
        this.loaded.set(sheet, loading);
        this.renderStrip();
      };
      loading.src = url;
      this.images.set(url, loading);
      img = loading;
      // Versions of sheets that moved on are not needed again.
      if (this.images.size > 64) this.images.delete(this.images.keys().next().value as string);
    }
    return img.complete && img.naturalWidth > 0 ? img : this.loaded.get(sheet) ?? null;
  }

  private renderStrip(): void {
    const canvas = this.part('strip') as HTMLCanvasElement;
    const empty = this.part('strip-empty');
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const g = canvas.getContext('2d');
    empty.hidden = this.tiles.length > 0;
    canvas.dataset.tiles = String(this.tiles.length);
    if (!g || this.tiles.length === 0 || width === 0) return;
    const cells = Math.max(1, Math.floor(width / CELL_PX));
    const cellW = canvas.width / cells;
    let drawn = 0;
    for (let i = 0; i < cells; i++) {
      const t = this.start + ((i + 0.5) / cells) * (this.end - this.start);
      const tile = tileAt(this.tiles, t);
      // Only where a tile covers that time: a gap stays dark.
      if (!tile || t < tile.start - 2000 || t > tile.end + 2000) continue;
      const img = this.image(tile.url);
      if (!img) continue;
      g.drawImage(img, tile.x, tile.y, tile.w, tile.h, i * cellW, 0, cellW, canvas.height);
      drawn += 1;
    }
    canvas.dataset.drawn = String(drawn);
  }
}
