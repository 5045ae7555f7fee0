// The precise planner: which chunk edges are re-encoded for a window.
import { describe, expect, it } from 'vitest';
import type { ChunkRef } from '../../src/dvr/chunk-ref.js';
import { applyPlan, planCuts, spanOf } from '../../src/precise/plan.js';

const chunk = (i: number, start = 10_000 + i * 2000, durationMs = 2000): ChunkRef =>
  ({ id: `c${i}`, start, durationMs, size: 100, discSeq: 0, discontinuity: false, n: i });
const chunks = [1, 2, 3, 4].map((i) => chunk(i));

describe('planCuts', () => {
  it('cuts the head and the tail inside their chunks', () => {
    const cuts = planCuts(chunks, 12_500, 18_300);
    expect(cuts.head).toMatchObject({ chunk: { id: 'c1' }, fromMs: 500, toMs: null });
    expect(cuts.tail).toMatchObject({ chunk: { id: 'c4' }, fromMs: 0, toMs: 300 });
  });

  it('leaves an edge on a keyframe or a chunk end alone', () => {
    expect(planCuts(chunks, 12_000, 20_000)).toEqual({ head: null, tail: null });
    expect(planCuts(chunks, 12_005, 19_995)).toEqual({ head: null, tail: null });
    expect(planCuts(chunks, 12_000, 19_000).head).toBeNull();
  });

  it('makes one cut when start and end fall in one chunk', () => {
    const cuts = planCuts([chunk(1)], 12_400, 13_400);
    expect(cuts.head).toBe(cuts.tail);
    expect(cuts.head).toMatchObject({ fromMs: 400, toMs: 1400 });
  });

  it('swaps the precise edges in and reports the span', () => {
    const head = { ...chunk(9, 12_520, 1480), id: 'zzhead' };
    const swapped = applyPlan(chunks, [{ replaces: 'c1', ref: head }]);
    expect(swapped.map((c) => c.id)).toEqual(['zzhead', 'c2', 'c3', 'c4']);
    expect(spanOf(swapped)).toEqual({ start: 12_520, end: 20_000 });
    expect(applyPlan(chunks, undefined)).toBe(chunks);
  });
});
