// The local VOD storage and the progress meter of a promotion.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressMeter } from '../../src/vod/progress.js';
import { checkStoragePath, isTempFile, LocalVodStorage, readStored } from '../../src/vod/storage.js';

let root: string;
let storage: LocalVodStorage;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'vod-storage-'));
  storage = new LocalVodStorage(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('LocalVodStorage', () => {
  it('puts buffers, strings and streams whole, leaving no temp file', async () => {
    await storage.put('7/a/00001.ts', Buffer.from('chunk'));
    await storage.put('7/a.m3u8', '#EXTM3U\n');
    await storage.put('7/a.mp4', Readable.from([Buffer.from('mo'), Buffer.from('ov')]));
    expect(await storage.list('7')).toEqual(['7/a.m3u8', '7/a.mp4', '7/a/00001.ts']);
    expect((await readStored(storage, '7/a.mp4'))!.toString()).toBe('moov');
    expect(await storage.stat('7/a/00001.ts')).toMatchObject({ size: 5 });
    expect(await storage.children('')).toEqual(['7']);
    expect(await readdir(path.join(root, '7'))).toEqual(['a', 'a.m3u8', 'a.mp4']);
  });

  it('removes the temp file of a put whose source fails, and keeps the old file', async () => {
    const failing = new Readable({ read() { this.destroy(new Error('source broke')); } });
    await expect(storage.put('7/a.mp4', failing)).rejects.toThrow('source broke');
    expect((await readStored(storage, '7/a.mp4'))!.toString()).toBe('moov');
    expect((await storage.list('7')).filter(isTempFile)).toEqual([]);
  });

  it('reads byte ranges, and answers null / [] for what is absent', async () => {
    const parts: Buffer[] = [];
    for await (const p of storage.createReadStream('7/a.mp4', { start: 1, end: 2 })) parts.push(p as Buffer);
    expect(Buffer.concat(parts).toString()).toBe('oo');
    expect(await storage.stat('7/none.ts')).toBeNull();
    expect(await storage.exists('7/a')).toBe(false); // a folder is not a file
    expect(await storage.list('8')).toEqual([]);
    expect(await readStored(storage, '8/video.json')).toBeNull();
  });

  it('removes a file or a whole folder', async () => {
    await storage.remove('7/a.m3u8');
    expect(await storage.exists('7/a.m3u8')).toBe(false);
    await storage.remove('7');
    expect(await storage.list('7')).toEqual([]);
    await storage.remove('7'); // absent is fine
  });

  it('refuses any path that is not plain relative names', () => {
    for (const bad of ['../x', '7/../../etc/passwd', '/etc/passwd', '7//a', '', '.', '7/./a', 'a\\b', '7/a b', 'a/b/c/d/e/f/g/h/i']) {
      expect(() => checkStoragePath(bad), bad).toThrow(/bad storage path/);
    }
    expect(checkStoragePath('12/media_1_240/00001.ts')).toBe('12/media_1_240/00001.ts');
  });

  it('knows its own temp names', () => {
    expect(isTempFile('7/media_1_240/.00001.ts.tmp-0123456789ab')).toBe(true);
    expect(isTempFile('7/media_1_240/00001.ts')).toBe(false);
    expect(isTempFile('7/.hidden')).toBe(false);
  });
});

describe('ProgressMeter', () => {
  it('reports whole percentages once each, in order, never 100', async () => {
    const seen: number[] = [];
    const meter = new ProgressMeter(1000, async (p) => void seen.push(p));
    for (let i = 0; i < 1000; i++) meter.add(1);
    await meter.flush();
    expect(seen[0]).toBe(1);
    expect(seen[seen.length - 1]).toBe(99);
    expect(seen).toEqual([...new Set(seen)].sort((a, b) => a - b));
  });

  it('passes a failed report on to the next add() and to flush()', async () => {
    const meter = new ProgressMeter(10, async () => {
      throw new Error('record gone');
    });
    meter.add(5);
    await expect(meter.flush()).rejects.toThrow('record gone');
    expect(() => meter.add(1)).toThrow('record gone');
  });
});
