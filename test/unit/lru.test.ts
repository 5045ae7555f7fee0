import { describe, expect, it } from 'vitest';
import { Lru } from '../../src/util/lru.js';

describe('Lru', () => {
  it('evicts the least recently used entry when over its weight', () => {
    const lru = new Lru<string>(2);
    lru.set('a', 'A');
    lru.set('b', 'B');
    expect(lru.get('a')).toBe('A'); // a is now the most recent
    lru.set('c', 'C');
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe('A');
    expect(lru.get('c')).toBe('C');
    expect(lru.size).toBe(2);
  });

  it('weighs entries with the given function and evicts as many as needed', () => {
    const lru = new Lru<Buffer>(10, (b) => b.length);
    lru.set('a', Buffer.alloc(4));
    lru.set('b', Buffer.alloc(4));
    expect(lru.weight).toBe(8);
    lru.set('c', Buffer.alloc(9));
    expect([lru.get('a'), lru.get('b')]).toEqual([undefined, undefined]);
    expect(lru.weight).toBe(9);
  });

  it('does not keep a value heavier than the whole bound, and drops the old value of its key', () => {
    const lru = new Lru<Buffer>(10, (b) => b.length);
    lru.set('a', Buffer.alloc(3));
    lru.set('a', Buffer.alloc(11));
    expect(lru.get('a')).toBeUndefined();
    expect(lru.weight).toBe(0);
  });

  it('replaces a value and keeps the weight right', () => {
    const lru = new Lru<Buffer>(10, (b) => b.length);
    lru.set('a', Buffer.alloc(3));
    lru.set('a', Buffer.alloc(5));
    expect(lru.weight).toBe(5);
    expect(lru.size).toBe(1);
    lru.delete('a');
    lru.delete('missing');
    expect([lru.weight, lru.size]).toEqual([0, 0]);
  });

  it('holds nothing with a bound of zero', () => {
    const lru = new Lru<string>(0);
    lru.set('a', 'A');
    expect(lru.get('a')).toBeUndefined();
  });
});
