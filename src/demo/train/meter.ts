/**
 * Samples per second over training time only: the clock runs while fit()
 * trains (GPU syncs included) and stops while the demo does its own work
 * (pauses, drawing, predictions on the test set, test evaluation).
 * Validation inside fit() is counted, which only ever lowers the figure.
 */
export class Meter {
  samples = 0;
  private seconds = 0;
  private since: number | null = null;
  private mark = { samples: 0, seconds: 0 };
  private recent = 0;

  start(now = performance.now()): void {
    this.since ??= now;
  }

  stop(now = performance.now()): void {
    if (this.since === null) return;
    this.seconds += (now - this.since) / 1000;
    this.since = null;
  }

  add(samples: number): void {
    this.samples += samples;
  }

  trainSeconds(now = performance.now()): number {
    return this.seconds + (this.since === null ? 0 : (now - this.since) / 1000);
  }

  rate(now = performance.now()): number {
    const s = this.trainSeconds(now);
    return s > 0 ? this.samples / s : 0;
  }

  /** The rate since the last window of at least a second closed (or the whole-run rate before the first). */
  recentRate(now = performance.now()): number {
    const s = this.trainSeconds(now);
    if (s - this.mark.seconds >= 1) {
      this.recent = (this.samples - this.mark.samples) / (s - this.mark.seconds);
      this.mark = { samples: this.samples, seconds: s };
    }
    return this.recent || this.rate(now);
  }
}
