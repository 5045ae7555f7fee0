// One remux while it runs. ffmpeg runs in the spawner's helper process
// (util/spawner.ts): spawned from the service, every remux (a prebuild burst
// is hundreds) forked the whole service, its event loop stopped for as long
// as that takes (21 ms at the 360 MB an api process reaches with full
// caches). It reads the chunks through a FIFO as they come from Redis, so it
// works while the rest arrives, as it did from its stdin (a file written
// first, then remuxed, made the first MP4 of a 60 s clip 1.25-1.5x a bare
// copy instead of about 1.1x). Each run is stopped (its ffmpeg SIGKILLed) at
// its timeout, when its caller's signal aborts, or at shutdown.
import { constants, createWriteStream, open } from 'node:fs';
import net from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ffmpegBin } from '../util/ffmpeg-bin.js';
import { runOutOfProcess, type Run } from '../util/spawner.js';

const STDERR_TAIL_LINES = 20;
/** Bytes of a remux's input read ahead of ffmpeg (while it starts, and later while it works). */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

export class RemuxError extends Error {
  constructor(message: string, readonly stderrTail: string[]) {
    super(message);
  }
}

function tail(stderr: string | null | undefined): string[] {
  return (stderr ?? '').split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-STDERR_TAIL_LINES);
}

export const lastLine = (stderr: string): string | undefined => tail(stderr).at(-1);

/**
 * One remux while it runs: its deadline, its caller's signal, and how it is
 * stopped, whichever part is at work (its input still being written, or its
 * ffmpeg). The first reason to stop is the one reported.
 */
export class Remuxing {
  private stopped: string | undefined;
  private readonly abort = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private run: Run | undefined;
  private readonly onAbort = () => this.stop('ffmpeg aborted');

  constructor(timeoutMs: number, private readonly signal: AbortSignal | undefined) {
    this.timer = setTimeout(() => this.stop(`ffmpeg timed out after ${timeoutMs} ms`), timeoutMs);
    if (signal?.aborted) this.stop('ffmpeg aborted');
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  stop(why: string): void {
    this.stopped ??= why;
    this.abort.abort();
    this.run?.kill();
  }

  throwIfStopped(stderr: string[] = []): void {
    if (this.stopped) throw new RemuxError(this.stopped, stderr);
  }

  /**
   * ffmpeg reading `source` through a FIFO at `fifo` (pushed to `spilled`).
   * Either side failing fails the remux: a feed cut short would otherwise
   * end in a short MP4 that ffmpeg thinks fine.
   */
  async piped(source: NodeJS.ReadableStream, fifo: string, spilled: string[], input: string[], output: string[], outFile: string, nice: number): Promise<void> {
    const made = await runOutOfProcess('mkfifo', ['-m', '600', fifo], { timeoutMs: 10_000 }).result;
    if (made.code !== 0) throw new RemuxError(`could not make the remux's input FIFO: ${made.error ?? lastLine(made.stderr) ?? `exit ${made.code}`}`, []);
    spilled.push(fifo);
    let ffmpegFailure: unknown;
    let ffmpegEnded = false;
    let pipe: net.Socket | undefined;
    const ran = this.ffmpeg([...input, '-i', fifo], output, outFile, nice).catch((err) => {
      ffmpegFailure = err;
      // ffmpeg gone: nothing reads what is still to come.
      pipe?.destroy();
    }).finally(() => { ffmpegEnded = true; });
    // ffmpeg takes tens of milliseconds to start (about 60 here before it
    // opens its input): the first chunks are read from Redis meanwhile.
    const ahead = new PassThrough({ highWaterMark: READ_AHEAD_BYTES });
    const reading = pipeline(source, ahead, { signal: this.abort.signal });
    const writing = this.openWriter(fifo, () => ffmpegEnded).then((fd) => {
      // As a socket, its writes wait on epoll for ffmpeg to read, not in one of libuv's few threads.
      pipe = new net.Socket({ fd, readable: false, writable: true });
      return pipeline(ahead, pipe, { signal: this.abort.signal });
    });
    // Either half of the feed failing stops the other, and ffmpeg: what it
    // made of the part it got must not pass for the MP4.
    const stopFeeding = () => {
      ahead.destroy();
      (source as Readable).destroy?.();
      this.run?.kill();
    };
    reading.catch(stopFeeding);
    writing.catch(stopFeeding);
    const [, read, write] = await Promise.allSettled([ran, reading, writing]);
    // The source's own failure (a chunk missing from Redis) first: the rest follows from it.
    const feedFailure: unknown = read.status === 'rejected' ? read.reason : write.status === 'rejected' ? write.reason : undefined;
    this.throwIfStopped(ffmpegFailure instanceof RemuxError ? ffmpegFailure.stderrTail : []);
    // A pipe that broke because ffmpeg stopped reading tells less than ffmpeg's own words.
    const broken = ['EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED'].includes((feedFailure as NodeJS.ErrnoException | undefined)?.code ?? '');
    if (feedFailure && !broken) throw feedFailure;
    if (ffmpegFailure) throw ffmpegFailure;
    if (feedFailure) throw feedFailure;
  }

  /**
   * The FIFO's writing end, once ffmpeg has opened its reading end: opened
   * earlier (read-write), bytes written before ffmpeg opened it would be
   * dropped if this end closed first, and ffmpeg would wait for a writer for
   * ever. Non-blocking, the open fails (ENXIO) until a reader is there.
   */
  private async openWriter(fifo: string, readerGone: () => boolean): Promise<number> {
    for (;;) {
      try {
        return await new Promise<number>((resolve, reject) => open(fifo, constants.O_WRONLY | constants.O_NONBLOCK, (err, fd) => (err ? reject(err) : resolve(fd))));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
        this.throwIfStopped();
        if (readerGone()) throw new Error('ffmpeg ended before it read its input');
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  }

  /** A run's bytes to `file` (pushed to `spilled`), or a path as it is. */
  async spill(run: NodeJS.ReadableStream | string, file: string, spilled: string[]): Promise<string> {
    if (typeof run === 'string') return run;
    spilled.push(file);
    try {
      await pipeline(run, createWriteStream(file), { signal: this.abort.signal });
    } catch (err) {
      this.throwIfStopped();
      throw err;
    }
    return file;
  }

  async ffmpeg(input: string[], output: string[], outFile: string, nice: number): Promise<void> {
    this.throwIfStopped();
    // The deadline is this object's (it covers the input's writing too).
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'warning', '-y', ...input, ...output, outFile];
    this.run = runOutOfProcess(ffmpegBin(), args, { nice, timeoutMs: 2 ** 31 - 1, maxOutput: 1024 * 1024 });
    const reply = await this.run.result;
    const stderr = tail(reply.stderr);
    this.throwIfStopped(stderr);
    if (reply.error) throw new RemuxError(`ffmpeg could not run: ${reply.error}`, stderr);
    if (reply.signal) throw new RemuxError(`ffmpeg was killed with signal ${reply.signal}`, stderr);
    if (reply.code !== 0) throw new RemuxError(`ffmpeg exited with code ${reply.code}: ${stderr.slice(-3).join(' / ') || 'no message'}`, stderr);
  }

  end(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}
