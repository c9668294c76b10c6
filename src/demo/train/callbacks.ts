import type { Callback, Logs, Model } from '../../index.js';
import type { Meter } from './meter.js';
import type { Insight, Progress, TrainConfig, TrainerEvent } from './protocol.js';

/** What the run's callbacks need from the trainer that owns the model. */
export interface RunHost {
  emit(event: TrainerEvent): void;
  /** True when someone waits for the model, or pause/stop was pressed. */
  wantsTurn(): boolean;
  /** Lets the page and waiting jobs in, waits out a pause; throws StopSignal after Stop. */
  park(): Promise<void>;
  insight(at: number, evaluate: boolean): Promise<Insight>;
}

/** How often, in ms: progress, a turn for others. */
const REPORT_MS = 200;
const PARK_MS = 25;
/**
 * Test-set predictions during an epoch: every 3 s at most, and never more
 * than a tenth of the time (predicting 2,000 digits takes milliseconds on a
 * GPU, seconds on a software adapter).
 */
const INSIGHT_MS = 3000;
const INSIGHT_SHARE = 0.1;

/**
 * The demo's fit() callbacks: counts steps and samples, reports progress,
 * hands the model over between batches, and takes a look at the test set
 * now and then and at every epoch's end.
 */
export class RunCallbacks implements Callback {
  step = 0;
  /** Whether the last insight came after the last step (so the end of the run needs none). */
  insightFresh = false;
  /** The epoch under way, from 0. */
  epoch = 0;
  private seen = 0;
  private lastReport = 0;
  private lastPark = 0;
  private fence: Promise<void> = Promise.resolve();
  private window = 1;
  private sinceFence = 0;
  private lastFence = 0;
  private lastInsight: number;
  private insightGap = INSIGHT_MS;

  constructor(
    private host: RunHost,
    private model: Model,
    private config: TrainConfig,
    private meter: Meter,
    readonly epochSize: number,
  ) {
    this.lastInsight = performance.now();
  }

  get steps(): number {
    return this.config.epochs * Math.ceil(this.epochSize / Math.min(this.config.batchSize, this.epochSize));
  }

  /** Fractional epochs done. */
  get at(): number {
    return this.epoch + this.seen / this.epochSize;
  }

  onEpochBegin(epoch: number): void {
    this.epoch = epoch;
    this.seen = 0;
    this.meter.start();
  }

  async onBatchEnd(_batch: number, info: { size: number }): Promise<void> {
    if (this.step === 0) this.host.emit({ type: 'phase', phase: 'training', text: 'Training' });
    this.step++;
    this.seen += info.size;
    this.meter.add(info.size);
    this.insightFresh = false;
    await this.throttle();
    let now = performance.now();
    if (now - this.lastReport >= REPORT_MS) {
      this.report();
      this.lastReport = now;
    }
    if (now - this.lastInsight >= this.insightGap) {
      this.meter.stop();
      this.host.emit({ type: 'insight', insight: await this.host.insight(this.at, false) });
      this.meter.start();
      const took = performance.now() - now;
      this.insightGap = Math.max(INSIGHT_MS, took / INSIGHT_SHARE);
      now = this.lastInsight = performance.now();
    }
    if (now - this.lastPark >= PARK_MS || this.host.wantsTurn()) {
      this.meter.stop();
      await this.host.park();
      this.meter.start();
      this.lastPark = performance.now();
    }
  }

  /**
   * Keeps the GPU at most two windows of steps behind: queuing is far
   * faster than running, and an unbounded queue would freeze the counters
   * (and Pause and Stop) for as long as the backlog takes. At the end of each
   * window, fence this one and wait for the one before. Windows
   * grow while they take under 50 ms, so a fast GPU is not made to wait on
   * every step, and shrink past 200 ms.
   */
  private async throttle(): Promise<void> {
    const backend = this.model.backend;
    if (!backend || backend.kind === 'cpu' || ++this.sinceFence < this.window) return;
    // Submit and fence this window first, so the GPU has work while we wait for the one before.
    const previous = this.fence;
    this.fence = backend.sync();
    // Awaited at the next window; if training ends first (Stop, an error), nobody will.
    this.fence.catch(() => {});
    await previous;
    this.sinceFence = 0;
    const now = performance.now();
    const took = now - this.lastFence;
    this.lastFence = now;
    if (took < 50) this.window = Math.min(256, this.window * 2);
    else if (took > 200) this.window = Math.max(1, Math.floor(this.window / 2));
  }

  async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    await this.fence;
    this.meter.stop();
    this.report();
    const insight = await this.host.insight(epoch + 1, true);
    this.host.emit({ type: 'epoch', epoch, logs: { ...logs, test_loss: insight.test!.loss, test_accuracy: insight.test!.accuracy } });
    this.host.emit({ type: 'insight', insight });
    this.insightFresh = true;
    this.lastInsight = performance.now();
    await this.host.park();
  }

  report(): void {
    const progress: Progress = {
      epoch: this.epoch,
      epochs: this.config.epochs,
      step: this.step,
      steps: this.steps,
      seen: this.seen,
      epochSize: this.epochSize,
      samplesPerSecond: this.meter.rate(),
      recentSamplesPerSecond: this.meter.recentRate(),
      trainSeconds: this.meter.trainSeconds(),
    };
    this.host.emit({ type: 'progress', progress });
  }
}
