// Progress of a promotion as a whole percentage, from the bytes done out of
// the bytes to do. Reported only when the whole number grows, so a long VOD
// costs about a hundred record updates, not one per chunk.
export type ProgressReport = (percent: number) => Promise<void>;

export class ProgressMeter {
  private done = 0;
  private reported = -1;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;

  /** Percentages run from `floor` to `ceiling`; 100 is said only when the VOD is ready. */
  constructor(
    private readonly total: number,
    private readonly report: ProgressReport,
    private readonly floor = 1,
    private readonly ceiling = 99,
  ) {}

  percent(): number {
    const share = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    return this.floor + Math.floor((this.ceiling - this.floor) * share);
  }

  /** Counts work done. Reports run in order; once one has failed, add() and flush() throw its error. */
  add(units: number): void {
    if (this.failure !== undefined) throw this.failure;
    this.done += units;
    const percent = this.percent();
    if (percent <= this.reported) return;
    this.reported = percent;
    this.chain = this.chain.then(() => this.report(percent));
    // Handled here, so the failure is no unhandled rejection; the caller gets it from add() or flush().
    this.chain.catch((err) => (this.failure = err));
  }

  /** Waits for the reports so far, and throws what one of them threw. */
  flush(): Promise<void> {
    return this.chain;
  }
}
