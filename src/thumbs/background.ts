// A small in-process queue for thumbnail work: a bounded number of tasks at
// once, a bounded backlog (when ingest outpaces it, the oldest waiting task is
// dropped: a chunk without a tile is just missing from the storyboard), and a
// way to wait until it is idle (shutdown, tests).
export class BackgroundQueue {
  private readonly waiting: Array<() => Promise<void>> = [];
  private active = 0;
  private delayed = 0;
  private idle: Array<() => void> = [];
  dropped = 0;

  constructor(private readonly concurrency: number, private readonly backlog: number, private readonly onError: (err: unknown) => void) {}

  push(task: () => Promise<void>): void {
    this.waiting.push(task);
    if (this.waiting.length > this.backlog) {
      this.waiting.shift();
      this.dropped += 1;
    }
    this.pump();
  }

  /** Pushes the task after a delay; it counts as waiting meanwhile. */
  later(ms: number, task: () => Promise<void>): void {
    this.delayed += 1;
    setTimeout(() => {
      this.delayed -= 1;
      this.push(task);
    }, ms).unref();
  }

  get size(): number {
    return this.waiting.length + this.active + this.delayed;
  }

  /** Resolves once nothing is running or waiting. */
  settled(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Forgets what waits (shutdown); running tasks finish. */
  clear(): void {
    this.waiting.length = 0;
    if (this.active === 0) this.wake();
  }

  private pump(): void {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const task = this.waiting.shift()!;
      this.active += 1;
      task().catch(this.onError).finally(() => {
        this.active -= 1;
        this.pump();
        if (this.size === 0) this.wake();
      });
    }
  }

  private wake(): void {
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
  }
}
