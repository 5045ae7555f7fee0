// Which MP4 files this process keeps, least recently used first, bounded by
// their total size; small ones also with their bytes in memory. Eviction is
// reported (the file must be deleted), and the newest entry is kept even
// when it alone is over the bound: the request that built it is about to
// serve it.
import { Lru } from '../util/lru.js';

export interface IndexedMp4 {
  size: number;
  /** The whole file, when it is small enough to be served from memory. */
  bytes?: Buffer;
  mtimeMs?: number;
}

export class Mp4Index extends Lru<IndexedMp4> {
  constructor(maxBytes: number, onEvict: (key: string) => void) {
    super(maxBytes, (entry) => entry.size, { onEvict, keepNewest: true });
  }

  /** Records a use of `key`, evicting the oldest entries as needed. */
  touch(key: string, entry: IndexedMp4): void {
    this.set(key, entry);
  }

  remove(key: string): void {
    this.delete(key);
  }

  get bytes(): number {
    return this.weight;
  }
}
