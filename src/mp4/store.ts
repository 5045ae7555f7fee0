// Where built MP4s live: a file per clip rendition under
// DATA_DIR/mp4cache/{prefix}/{stream}/{clip}_{rendition}.mp4, so every
// process that shares DATA_DIR serves what any of them built. Each process
// bounds the files it knows by MP4_CACHE_BYTES (LRU) and keeps those up to
// 1/8 of that bound in memory as well: a cached request is then a Buffer
// slice handed to the socket, with no read. Files of expired clips are
// deleted on access and by a periodic sweep.
import { access, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import { Mp4Index, type IndexedMp4 } from './cache-index.js';
import type { OpenedMp4 } from './serve.js';

const SWEEP_MS = 60_000;

export class Mp4Store {
  readonly root: string;
  private readonly index: Mp4Index;
  private readonly loading = new Map<string, Promise<IndexedMp4 | 'large' | null>>();
  /** Files up to this size are served from memory; larger ones stream from disk. */
  private readonly memoryLimit: number;
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly ctx: Context) {
    this.root = path.join(ctx.config.dataDir, 'mp4cache', ctx.keys.prefix);
    this.index = new Mp4Index(ctx.config.mp4CacheBytes, (key) => void this.unlink(key));
    this.memoryLimit = Math.floor(ctx.config.mp4CacheBytes / 8);
  }

  async start(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await this.adopt();
    this.sweeper = setInterval(() => {
      this.sweep().catch((err) => this.ctx.log.warn({ err }, 'mp4 cache sweep failed'));
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  fileOf(key: string): string {
    return path.join(this.root, `${key}.mp4`);
  }

  has(key: string): Promise<boolean> {
    return access(this.fileOf(key)).then(() => true, () => false);
  }

  /** The MP4 (its bytes, or an open file when large), or null when no process has built it. */
  async get(key: string): Promise<OpenedMp4 | null> {
    const hot = this.index.get(key);
    if (hot?.bytes) return { bytes: hot.bytes, size: hot.size, mtimeMs: hot.mtimeMs ?? 0 };
    let pending = this.loading.get(key);
    if (!pending) {
      // Once however many requests ask at the same time.
      pending = this.readSmall(key).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    const loaded = await pending;
    if (loaded === 'large') return this.openLarge(key);
    return loaded && { bytes: loaded.bytes, size: loaded.size, mtimeMs: loaded.mtimeMs ?? 0 };
  }

  /** Moves a finished file in. Atomic: a reader in any process sees no file or the whole file. */
  async put(key: string, tmp: string): Promise<void> {
    const { size } = await stat(tmp);
    await rename(tmp, this.fileOf(key));
    this.index.touch(key, { size });
  }

  /** Deletes the files of a clip that no longer exists. */
  forgetClip(streamId: number, clipId: string): void {
    const prefix = `${streamId}/${clipId}_`;
    for (const key of this.index.keys()) if (key.startsWith(prefix)) void this.unlink(key);
  }

  private async readSmall(key: string): Promise<IndexedMp4 | 'large' | null> {
    const handle = await this.openOrNull(key);
    if (!handle) return null;
    try {
      const { size, mtimeMs } = await handle.stat();
      if (size > this.memoryLimit) return 'large';
      const entry = { size, mtimeMs, bytes: await handle.readFile() };
      this.index.touch(key, entry);
      return entry;
    } finally {
      await handle.close();
    }
  }

  private async openLarge(key: string): Promise<OpenedMp4 | null> {
    const handle = await this.openOrNull(key);
    if (!handle) return null;
    const { size, mtimeMs } = await handle.stat();
    this.index.touch(key, { size });
    return { handle, size, mtimeMs };
  }

  private async openOrNull(key: string): Promise<FileHandle | null> {
    try {
      return await open(this.fileOf(key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.index.remove(key); // another process evicted it
      return null;
    }
  }

  private async unlink(key: string): Promise<void> {
    this.index.remove(key);
    await rm(this.fileOf(key), { force: true }).catch((err) => this.ctx.log.warn({ err, key }, 'mp4 cache delete failed'));
  }

  /** Deletes files of expired clips, and forgets files another process deleted. */
  private async sweep(): Promise<void> {
    const keys = this.index.keys();
    if (keys.length === 0) return;
    // One command each, not a pipeline: the clips of different streams live
    // in different slots of a Redis Cluster.
    const expirations = await Promise.all(keys.map((key) => {
      const [streamId, rest] = key.split('/');
      return this.ctx.redis.hget(this.ctx.keys.stream.clip(Number(streamId), rest.slice(0, 16)), 'expiration');
    }));
    const now = this.ctx.clock.now();
    await Promise.all(keys.map(async (key, i) => {
      const expiration = expirations[i];
      if (!expiration || Number(expiration) * 1000 <= now) return this.unlink(key);
      if (!(await this.has(key))) this.index.remove(key);
    }));
  }

  /** Takes over files left by an earlier run (oldest first), and removes stale temp files. */
  private async adopt(): Promise<void> {
    const found: { key: string; size: number; mtimeMs: number }[] = [];
    const staleBefore = Date.now() - this.ctx.config.ffmpegTimeoutMs - 60_000;
    for (const dir of await readdir(this.root).catch(() => [] as string[])) {
      if (!/^\d+$/.test(dir)) continue;
      for (const name of await readdir(path.join(this.root, dir)).catch(() => [] as string[])) {
        const full = path.join(this.root, dir, name);
        const info = await stat(full).catch(() => null);
        if (!info) continue;
        if (name.endsWith('.tmp')) {
          if (info.mtimeMs < staleBefore) await rm(full, { force: true });
        } else if (name.endsWith('.mp4')) {
          found.push({ key: `${dir}/${name.slice(0, -4)}`, size: info.size, mtimeMs: info.mtimeMs });
        }
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) this.index.touch(f.key, { size: f.size });
    await this.sweep();
  }
}
