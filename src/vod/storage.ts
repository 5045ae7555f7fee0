// Permanent VOD storage behind a small interface, so an object store can take
// the place of the local folder. Paths are relative, "/"-separated and made
// of plain names only (checked here, so no caller can reach outside the root).
// A put is atomic: a reader sees the whole file or no file, never a part.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config.js';

export interface StoredFile {
  size: number;
  mtimeMs: number;
}

/** Inclusive byte range, as HTTP Range counts. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface VodStorage {
  put(file: string, data: Buffer | string | Readable): Promise<void>;
  /** Moves a finished local file (an ffmpeg output) into place. */
  putFile(file: string, localFile: string): Promise<void>;
  exists(file: string): Promise<boolean>;
  stat(file: string): Promise<StoredFile | null>;
  /** Errors (on the stream) if the file does not exist. */
  createReadStream(file: string, range?: ByteRange): Readable;
  /** Every file under a folder, as paths relative to the root; [] for none. */
  list(folder: string): Promise<string[]>;
  /** Names of the files and folders directly in a folder ("" is the root). */
  children(folder: string): Promise<string[]>;
  /** A file, or a folder and all it holds. Absent is fine. */
  remove(prefix: string): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9._-]{1,128}$/;

/** Throws on anything but plain relative names: no "..", no absolute paths. */
export function checkStoragePath(file: string): string {
  const parts = file.split('/');
  if (parts.length > 8 || !parts.every((p) => SEGMENT.test(p) && p !== '..' && p !== '.')) {
    throw new Error(`bad storage path "${file}"`);
  }
  return file;
}

/** Name of the temporary file a put writes before its rename; see isTempFile. */
function tempName(full: string): string {
  return path.join(path.dirname(full), `.${path.basename(full)}.tmp-${randomBytes(6).toString('hex')}`);
}

/** A file a put was writing when its process died. */
export function isTempFile(file: string): boolean {
  return /(^|\/)\.[^/]*\.tmp-[0-9a-f]{12}$/.test(file);
}

export class LocalVodStorage implements VodStorage {
  constructor(readonly root: string) {}

  private full(file: string): string {
    return path.join(this.root, checkStoragePath(file));
  }

  async put(file: string, data: Buffer | string | Readable): Promise<void> {
    const full = this.full(file);
    await mkdir(path.dirname(full), { recursive: true });
    // A random temp name per writer: two workers that (after a stalled lock)
    // write the same file never share a half-written temp file.
    const tmp = tempName(full);
    try {
      if (data instanceof Readable) await pipeline(data, createWriteStream(tmp));
      else await writeFile(tmp, data);
      await rename(tmp, full);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  async putFile(file: string, localFile: string): Promise<void> {
    const full = this.full(file);
    await mkdir(path.dirname(full), { recursive: true });
    try {
      await rename(localFile, full);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      const tmp = tempName(full);
      await copyFile(localFile, tmp);
      await rename(tmp, full);
      await unlink(localFile);
    }
  }

  async exists(file: string): Promise<boolean> {
    return (await this.stat(file)) !== null;
  }

  async stat(file: string): Promise<StoredFile | null> {
    try {
      const s = await stat(this.full(file));
      return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  createReadStream(file: string, range?: ByteRange): Readable {
    return createReadStream(this.full(file), range ? { start: range.start, end: range.end } : {});
  }

  async list(folder: string): Promise<string[]> {
    const base = folder === '' ? this.root : this.full(folder);
    try {
      const entries = await readdir(base, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => path.relative(this.root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async children(folder: string): Promise<string[]> {
    try {
      return (await readdir(folder === '' ? this.root : this.full(folder))).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async remove(prefix: string): Promise<void> {
    await rm(this.full(prefix), { recursive: true, force: true });
  }
}

/** The configured VOD storage: the folder DATA_DIR/vod. */
export function vodStorage(config: Pick<Config, 'dataDir'>): VodStorage {
  return new LocalVodStorage(path.join(config.dataDir, 'vod'));
}

/** Reads a whole (small) stored file, or null if there is none. */
export async function readStored(storage: VodStorage, file: string): Promise<Buffer | null> {
  if (!(await storage.exists(file))) return null;
  const parts: Buffer[] = [];
  for await (const part of storage.createReadStream(file)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
