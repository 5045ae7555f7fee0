// A least-recently-used map bounded by a total weight (entries or bytes).
// Map keeps insertion order, so re-inserting on access makes the first key
// the least recently used one.
export interface LruOptions {
  /** Told of every entry pushed out by the bound (not of delete()). */
  onEvict?: (key: string) => void;
  /**
   * Keep the newest entry even when it alone is over the bound (its caller
   * is about to use it); otherwise such a value is not kept at all.
   */
  keepNewest?: boolean;
}

export class Lru<V> {
  private readonly entries = new Map<string, { value: V; weight: number }>();
  private total = 0;

  constructor(
    private readonly maxWeight: number,
    private readonly weigh: (value: V) => number = () => 1,
    private readonly options: LruOptions = {},
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    this.delete(key);
    const weight = this.weigh(value);
    if (weight > this.maxWeight && !this.options.keepNewest) return;
    this.entries.set(key, { value, weight });
    this.total += weight;
    while (this.total > this.maxWeight && this.entries.size > (this.options.keepNewest ? 1 : 0)) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
      this.options.onEvict?.(oldest);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.weight;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get weight(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }
}
