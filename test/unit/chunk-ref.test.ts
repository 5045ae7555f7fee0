// The index member format has one owner per language (chunk-ref.ts, lib.lua).
import { describe, expect, it } from 'vitest';
import { chunkMemberDuration, chunkMemberId, formatChunkMember, parseChunkRef, runsOf } from '../../src/dvr/chunk-ref.js';

describe('chunk member', () => {
  const ref = { id: '1k3f9a2bc', durationMs: 2280, size: 188 * 1000, discSeq: 3, discontinuity: true, n: 41 };

  it('reads back what it writes', () => {
    const member = formatChunkMember(ref);
    expect(member).toBe('1k3f9a2bc|2280|188000|3|1|41');
    expect(parseChunkRef(member, '1764583200000')).toEqual({ ...ref, start: 1764583200000 });
    expect(chunkMemberId(member)).toBe(ref.id);
    expect(chunkMemberDuration(member)).toBe(2280);
  });

  it('marks no discontinuity as 0', () => {
    expect(parseChunkRef(formatChunkMember({ ...ref, discontinuity: false }), 0).discontinuity).toBe(false);
  });
});

describe('runsOf', () => {
  const at = (...flags: number[]) => flags.map((f, i) => ({ i, discontinuity: f === 1 }));
  it('cuts at every discontinuity, a leading one opening the first run', () => {
    expect(runsOf(at(0, 0, 1, 0, 1)).map((r) => r.map((c) => c.i))).toEqual([[0, 1], [2, 3], [4]]);
    expect(runsOf(at(1, 0)).map((r) => r.map((c) => c.i))).toEqual([[0, 1]]);
    expect(runsOf([])).toEqual([]);
  });
});
