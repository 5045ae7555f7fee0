// Reads the storyboard WebVTT the service serves: cues with a sprite URL and
// a #xywh rectangle; a live storyboard's NOTE names the wall clock of time 0.

export interface Tile {
  /** unix ms, when `origin` is known; else seconds on the storyboard's own timeline x 1000 */
  start: number;
  end: number;
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function seconds(t: string): number {
  const parts = t.split(':').map(Number);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

/** `base`: the URL the VTT came from, to resolve sprite URLs against. */
export function parseStoryboard(text: string, base: string): Tile[] {
  const lines = text.split(/\r?\n/);
  const note = lines.find((l) => l.startsWith('NOTE time 0 is '));
  const origin = note ? Date.parse(note.slice('NOTE time 0 is '.length).split(' ')[0]) : 0;
  const tiles: Tile[] = [];
  for (let i = 0; i < lines.length - 1; i++) {
    const cue = /^(\S+) --> (\S+)/.exec(lines[i]);
    const img = cue && /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[i + 1].trim());
    if (!cue || !img) continue;
    tiles.push({
      start: origin + seconds(cue[1]) * 1000,
      end: origin + seconds(cue[2]) * 1000,
      url: new URL(img[1], base).toString(),
      x: Number(img[2]), y: Number(img[3]), w: Number(img[4]), h: Number(img[5]),
    });
  }
  return tiles;
}

/** The tile showing time `t` (the last one starting at or before it), else the nearest. */
export function tileAt(tiles: Tile[], t: number): Tile | undefined {
  let best: Tile | undefined;
  for (const tile of tiles) {
    if (tile.start <= t) best = tile;
    else return best ?? tile;
  }
  return best;
}
