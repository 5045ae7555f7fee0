// Background media work (MP4 prebuilds, thumbnails, precise edges) must never
// slow a request. So it goes through this queue: submitting is synchronous and
// costs a Map insert; a task starts only after submissions have paused for a
// moment (a burst of clip creations is over) or it has waited long enough; a
// few run at once, fewer than the cores, so the API keeps a core of its own;
// and a task is told the niceness its ffmpeg children run at (it passes it
// down explicitly: an AsyncLocalStorage would make every promise of the
// process pay for async hooks, requests included).
import os from 'node:os';

/** `nice`: the niceness its child processes should run at (runOutOfProcess's `nice`). */
export type BackgroundTask = (signal: AbortSignal, nice: number) => Promise<void>;

export interface BackgroundOptions {
  /** Tasks running at once. Default: half the cores, at least one. */
  concurrency?: number;
  /** A task starts once no other task was submitted for this long... */
  quietMs?: number;
  /** ...or once it has waited this long, whatever the rate of submissions. */
  maxDeferMs?: number;
  /** Queued tasks kept; past it the oldest is dropped (its work is done on demand instead). */
  maxQueued?: number;
  /** Niceness of the processes the tasks spawn (0-19). */
  niceness?: number;
  onError?: (key: string, err: unknown) => void;
  onDrop?: (key: string) => void;
}

/**
 * Which work goes first once the queue may run something: a clip's MP4
 * (a viewer may ask for it any moment) before a thumbnail tile (nobody
 * waits on one in particular). Within a lane, submission order.
 */
export type BackgroundLane = 'clip' | 'idle';
const LANES: readonly BackgroundLane[] = ['clip', 'idle'];
/** Past the bound, tasks are dropped from the last lane first. */
const DROP_ORDER = [...LANES].reverse();

interface Queued {
  task: BackgroundTask;
  queuedAt: number;
}

export function defaultConcurrency(cores = os.availableParallelism?.() ?? os.cpus().length): number {
  return Math.max(1, Math.floor(cores / 2));
}

export class BackgroundQueue {
  readonly concurrency: number;
  private readonly quietMs: number;
  private readonly maxDeferMs: number;
  private readonly maxQueued: number;
  private readonly nice: number;
  /** Per lane, insertion order is submission order; a key submitted again keeps its place. */
  private readonly queued: Record<BackgroundLane, Map<string, Queued>> = { clip: new Map(), idle: new Map() };
  private readonly running = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private lastSubmitAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: BackgroundOptions = {}) {
    this.concurrency = Math.max(1, options.concurrency ?? defaultConcurrency());
    this.quietMs = options.quietMs ?? 300;
    this.maxDeferMs = options.maxDeferMs ?? 10_000;
    this.maxQueued = options.maxQueued ?? 10_000;
    this.nice = Math.min(19, Math.max(0, options.niceness ?? 10));
  }

  /**
   * Queues `task` under `key` and returns at once. A key already queued or
   * running is not queued twice (the work is the same). False once closed.
   * Past the bound, the oldest task of the last lane that has one is dropped.
   */
  submit(key: string, task: BackgroundTask, lane: BackgroundLane = 'clip'): boolean {
    if (this.abort.signal.aborted) return false;
    this.lastSubmitAt = Date.now();
    if (this.running.has(key) || LANES.some((l) => this.queued[l].has(key))) return true;
    this.queued[lane].set(key, { task, queuedAt: this.lastSubmitAt });
    while (this.pending > this.maxQueued) {
      const from = this.queued[DROP_ORDER.find((l) => this.queued[l].size > 0)!];
      const oldest = from.keys().next().value as string;
      from.delete(oldest);
      this.options.onDrop?.(oldest);
    }
    this.schedule();
    return true;
  }

  get pending(): number {
    return this.queued.clip.size + this.queued.idle.size;
  }

  get active(): number {
    return this.running.size;
  }

  /** Resolves once nothing is queued or running (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.pending === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what is queued, aborts what runs and waits for it. */
  async close(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const lane of LANES) this.queued[lane].clear();
    await Promise.allSettled(this.running.values());
    this.notifyIdle();
  }

  private schedule(): void {
    if (this.timer || this.abort.signal.aborted) return;
    const wait = this.nextStartIn();
    if (wait === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.startDue();
    }, wait);
    // Pending background work must not keep a process alive.
    this.timer.unref();
  }

  /** Milliseconds until the head of the queue may start; null: nothing can start. */
  private nextStartIn(): number | null {
    if (this.running.size >= this.concurrency) return null;
    const head = this.head()?.[1];
    if (!head) return null;
    const now = Date.now();
    const quiet = this.lastSubmitAt + this.quietMs - now;
    const overdue = head.queuedAt + this.maxDeferMs - now;
    return Math.max(0, Math.min(quiet, overdue));
  }

  /** The task to start next: the first of the first lane that has one. */
  private head(): [string, Queued, BackgroundLane] | undefined {
    for (const lane of LANES) {
      const first = this.queued[lane].entries().next().value as [string, Queued] | undefined;
      if (first) return [first[0], first[1], lane];
    }
    return undefined;
  }

  private startDue(): void {
    while (this.running.size < this.concurrency && this.nextStartIn() === 0) {
      const [key, item, lane] = this.head()!;
      this.queued[lane].delete(key);
      const run = Promise.resolve()
        .then(() => item.task(this.abort.signal, this.nice))
        .catch((err: unknown) => {
          if (!this.abort.signal.aborted) this.options.onError?.(key, err);
        })
        .finally(() => {
          this.running.delete(key);
          this.schedule();
          this.notifyIdle();
        });
      this.running.set(key, run);
    }
    this.schedule();
  }

  private notifyIdle(): void {
    if (this.pending > 0 || this.running.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

const shared = new WeakMap<object, BackgroundQueue>();

/**
 * The one background queue of a running service (keyed by its context, as
 * tests run several services in one process): every kind of background
 * media work shares its bound, so together they never take every core.
 */
export function backgroundQueueOf(owner: object, options?: BackgroundOptions): BackgroundQueue {
  let queue = shared.get(owner);
  if (!queue) {
    queue = new BackgroundQueue(options);
    shared.set(owner, queue);
  }
  return queue;
}

export async function closeBackgroundQueue(owner: object): Promise<void> {
  const queue = shared.get(owner);
  shared.delete(owner);
  await queue?.close();
}
