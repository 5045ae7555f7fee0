// The index member format has one owner per language (chunk-ref.ts, lib.lua).
import { describe, expect, it } from 'vitest';
import { chunkMemberDuration, chunkMemberId, formatChunkMember, parseChunkRef } from '../../src/dvr/chunk-ref.js';

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
