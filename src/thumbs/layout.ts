// Where a tile sits in a storyboard: sprite sheets of SHEET_TILES tiles,
// SHEET_COLUMNS wide. A tile's place never moves (a clip's chunk index, or a
// live chunk's running number), so a sheet fetched before a tile arrived is
// still right about every tile it has; its URL carries a version of the tiles
// it holds so caches fetch it again when it gains one.
import { createHash } from 'node:crypto';
import { TILE_HEIGHT, TILE_WIDTH } from './tiles.js';

export const SHEET_COLUMNS = 10;
export const SHEET_TILES = 100;

export interface Cue {
  /** seconds on the storyboard's timeline */
  start: number;
  end: number;
  /** the tile's place: sheet = floor(place / SHEET_TILES) */
  place: number;
}

export function sheetOf(place: number): number {
  return Math.floor(place / SHEET_TILES);
}

export function tileRect(place: number): { x: number; y: number; w: number; h: number } {
  const p = place % SHEET_TILES;
  return { x: (p % SHEET_COLUMNS) * TILE_WIDTH, y: Math.floor(p / SHEET_COLUMNS) * TILE_HEIGHT, w: TILE_WIDTH, h: TILE_HEIGHT };
}

/** Short digest of which tiles a sheet holds. */
export function sheetVersion(ids: string[]): string {
  return createHash('sha1').update(ids.join(',')).digest('hex').slice(0, 10);
}

function timestamp(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** WebVTT storyboard (as Mux's): one cue per tile, `sheet.jpg#xywh=x,y,w,h`. */
export function storyboardVtt(cues: Cue[], sheetUrl: (sheet: number) => string, note?: string): string {
  const lines = ['WEBVTT', ''];
  if (note) lines.push(`NOTE ${note}`, '');
  for (const cue of cues) {
    const { x, y, w, h } = tileRect(cue.place);
    lines.push(`${timestamp(cue.start)} --> ${timestamp(cue.end)}`, `${sheetUrl(sheetOf(cue.place))}#xywh=${x},${y},${w},${h}`, '');
  }
  return lines.join('\n');
}

/** For each sheet, the ids of the tiles it holds in place order, for sheetVersion. */
export function sheetIds(placed: Array<{ place: number; id: string }>): Map<number, string[]> {
  const bySheet = new Map<number, string[]>();
  for (const { place, id } of [...placed].sort((a, b) => a.place - b.place)) {
    const sheet = sheetOf(place);
    const ids = bySheet.get(sheet) ?? [];
    ids.push(`${place % SHEET_TILES}:${id}`);
    bySheet.set(sheet, ids);
  }
  return bySheet;
}
