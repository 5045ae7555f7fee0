// What the ingest has learned about each rendition, and the public names
// `media_{n}_{height}` (n counts from 1 in order of rising bandwidth).
import type { Context } from '../context.js';

export interface RenditionInfo {
  /** The encoder's media playlist name without .m3u8; the internal key. */
  playlist: string;
  name: string;
  width?: number;
  height?: number;
  frameRate?: number;
  codecs?: string;
  /** Declared by the encoder's master playlist, else measured. */
  bandwidth: number;
  keyframeAligned?: boolean;
}

/** Stored per playlist in the renditions hash. */
export interface RenditionFacts {
  width?: number;
  height?: number;
  frameRate?: number;
  codecs?: string;
  declaredBandwidth?: number;
  keyframeAligned?: boolean;
  probedChunks?: number;
}

export function nameRenditions(facts: Map<string, RenditionFacts>, measured: Map<string, number>): RenditionInfo[] {
  // Only playlists that delivered chunks count; a master may list more.
  const rows = [...measured.keys()].map((playlist) => {
    const f = facts.get(playlist) ?? {};
    return {
      playlist,
      name: '',
      width: f.width,
      height: f.height,
      frameRate: f.frameRate,
      codecs: f.codecs,
      bandwidth: f.declaredBandwidth ?? measured.get(playlist) ?? 0,
      keyframeAligned: f.keyframeAligned,
    };
  });
  rows.sort((a, b) => a.bandwidth - b.bandwidth || (a.height ?? 0) - (b.height ?? 0) || a.playlist.localeCompare(b.playlist));
  rows.forEach((row, i) => (row.name = `media_${i + 1}_${row.height ?? 0}`));
  return rows;
}

export async function loadRenditions(ctx: Context, streamId: number): Promise<RenditionInfo[]> {
  const k = ctx.keys.stream;
  const [facts, declared, stats, seqs] = await ctx.redis
    .multi()
    .hgetall(k.renditions(streamId))
    .hgetall(k.declared(streamId))
    .hgetall(k.renditionStats(streamId))
    .hgetall(k.renditionSeq(streamId))
    .exec()
    .then((r) => (r ?? []).map(([, v]) => v as Record<string, string>));
  const factMap = new Map<string, RenditionFacts>();
  for (const playlist of new Set([...Object.keys(facts), ...Object.keys(declared)])) {
    const probed: RenditionFacts = facts[playlist] ? JSON.parse(facts[playlist]) : {};
    const said: RenditionFacts = declared[playlist] ? JSON.parse(declared[playlist]) : {};
    // What the probe saw beats what the encoder declared, except bandwidth.
    factMap.set(playlist, { ...said, ...probed, declaredBandwidth: said.declaredBandwidth });
  }
  const measured = new Map<string, number>();
  for (const playlist of Object.keys(seqs)) {
    const bytes = Number(stats[`${playlist}:bytes`] ?? 0);
    const ms = Number(stats[`${playlist}:ms`] ?? 0);
    measured.set(playlist, ms > 0 ? Math.round((bytes * 8 * 1000) / ms) : 0);
  }
  return nameRenditions(factMap, measured);
}
