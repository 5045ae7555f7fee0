// Which MP4 files this process keeps, least recently used first, bounded by
// their total size; small ones also with their bytes in memory. Unlike
// util/lru.ts it says what it evicts (the file must be deleted) and always
// keeps the newest entry, even when that one alone is over the bound: the
// request that built it is about to serve it.
export interface IndexedMp4 {
  size: number;
  /** The whole file, when it is small enough to be served from memory. */
  bytes?: Buffer;
  mtimeMs?: number;
}

export class Mp4Index {
  private readonly entries = new Map<string, IndexedMp4>();
  private total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onEvict: (key: string) => void,
  ) {}

  /** The entry, now the most recently used. */
  get(key: string): IndexedMp4 | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Records a use of `key`, evicting the oldest entries as needed. */
  touch(key: string, entry: IndexedMp4): void {
    this.remove(key);
    this.entries.set(key, entry);
    this.total += entry.size;
    while (this.total > this.maxBytes && this.entries.size > 1) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest);
      this.onEvict(oldest);
    }
  }

  remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.size;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get bytes(): number {
    return this.total;
  }
}
