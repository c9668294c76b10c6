import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';

/** Per-epoch numbers: loss, metrics, and val_ versions of each. */
export type Logs = Record<string, number>;

/** What a callback can see and steer of the model being trained. */
export interface TrainingModel {
  stopTraining: boolean;
  getWeights(): Promise<Float32Array[]>;
  setWeights(weights: Float32Array[]): void;
}

/** Hooks called by fit(), Keras-style. Every hook is optional and may be async. */
export interface Callback {
  onTrainBegin?(model: TrainingModel): void | Promise<void>;
  onEpochBegin?(epoch: number, model: TrainingModel): void | Promise<void>;
  /**
   * `size` is the batch's sample count. The loss is not read back every batch (that would stall the
   * GPU): `logs` holds the running loss and metrics of the epoch so far only on the batches where
   * fit() read them, once per `logInterval` seconds. Setting model.stopTraining stops after this batch.
   */
  onBatchEnd?(batch: number, info: { size: number; epoch: number; logs?: Logs }, model: TrainingModel): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs, model: TrainingModel): void | Promise<void>;
  onTrainEnd?(logs: Logs, model: TrainingModel): void | Promise<void>;
  /** Why this callback stopped training, or null if it did not: fit() puts the first one in History.stopped. */
  stopReason?(): TrainingStop | null;
}

/** Why training stopped before its last epoch: what History.stopped holds. */
export interface TrainingStop {
  /** The callback that stopped it: 'terminateOnDivergence', 'terminateOnNaN' or 'earlyStopping'. */
  readonly by: string;
  /** The epoch (0-based) training stopped in. */
  readonly epoch: number;
  /** One line, with the numbers. */
  readonly reason: string;
}

const EARLY_STOPPING_OPTIONS = defineOptions('earlyStopping', {
  monitor: opt.string("the quantity watched; default 'val_loss' (Keras'), falling back to 'loss' when there is no validation data"),
  patience: opt.integer('epochs without improvement before stopping (default 0)', { min: 0 }),
  minDelta: opt.number('the least change that counts as an improvement (default 0)'),
  mode: opt.oneOf(['min', 'max', 'auto'] as const, "'min' for losses, 'max' for accuracies; 'auto' picks by the name"),
  restoreBestWeights: opt.boolean('put back the weights of the best epoch when training stops'),
}, { min_delta: 'minDelta', restore_best_weights: 'restoreBestWeights' });

export type EarlyStoppingOptions = OptionsOf<typeof EARLY_STOPPING_OPTIONS.spec>;

/** Stops training when a monitored quantity stops improving (Keras' EarlyStopping). */
export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  private mode: 'min' | 'max' | 'auto';
  private best = NaN;
  private wait = 0;
  private bestWeights: Float32Array[] | null = null;
  /** The epoch training stopped in, or -1. */
  stoppedEpoch = -1;
  bestEpoch = -1;

  constructor(options: EarlyStoppingOptions = {}) {
    options = EARLY_STOPPING_OPTIONS.check(options);
    this.monitor = options.monitor ?? 'val_loss';
    this.patience = options.patience ?? 0;
    this.minDelta = Math.abs(options.minDelta ?? 0);
    this.mode = options.mode ?? 'auto';
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new ValueError(`earlyStopping: patience must be a whole number >= 0, got ${options.patience}`);
    if (!['min', 'max', 'auto'].includes(this.mode)) throw new ValueError(`earlyStopping: mode must be 'min', 'max' or 'auto', got '${this.mode}'`);
  }

  onTrainBegin(): void {
    this.best = NaN;
    this.wait = 0;
    this.bestWeights = null;
    this.stoppedEpoch = -1;
    this.bestEpoch = -1;
  }

  async onEpochEnd(epoch: number, logs: Logs, model: TrainingModel): Promise<void> {
    const key = this.monitor in logs ? this.monitor : this.monitor === 'val_loss' && !('val_loss' in logs) ? 'loss' : this.monitor;
    const value = logs[key];
    if (value === undefined) throw new ValueError(`earlyStopping: monitored quantity '${this.monitor}' is not in the logs (${Object.keys(logs).join(', ')})`);
    const max = this.mode === 'max' || (this.mode === 'auto' && /acc/.test(key));
    const improved = Number.isNaN(this.best) || (max ? value > this.best + this.minDelta : value < this.best - this.minDelta);
    if (improved) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = await model.getWeights();
      return;
    }
    this.wait++;
    // Keras' rule: stop once `patience` epochs in a row have not improved.
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      model.stopTraining = true;
      if (this.bestWeights) model.setWeights(this.bestWeights);
    }
  }

  stopReason(): TrainingStop | null {
    if (this.stoppedEpoch < 0) return null;
    const kept = this.restoreBestWeights ? '; its weights were put back' : '';
    return { by: 'earlyStopping', epoch: this.stoppedEpoch, reason: `${this.monitor} did not improve for ${this.wait} epoch${this.wait === 1 ? '' : 's'} after epoch ${this.bestEpoch + 1}, the best (${this.best})${kept}` };
  }
}

export function earlyStopping(options: EarlyStoppingOptions = {}): EarlyStopping {
  return new EarlyStopping(options);
}

/** Where training stopped on a non-finite loss. */
export interface NonFiniteLoss {
  readonly epoch: number;
  /** The batch after which the loss was seen non-finite (the running loss is read once per logInterval), or null when first seen at the epoch's end. */
  readonly batch: number | null;
  readonly loss: number;
}

/**
 * Stops training as soon as the loss is NaN or ±Infinity (Keras' TerminateOnNaN).
 * The running loss is read once per fit's logInterval, not every batch (that
 * would stall the GPU), so `stopped.batch` is where it was seen, at most one
 * interval after it turned. The weights are then non-finite too: don't save them.
 */
export class TerminateOnNaN implements Callback {
  stopped: NonFiniteLoss | null = null;

  onTrainBegin(): void {
    this.stopped = null;
  }

  onBatchEnd(batch: number, info: { epoch: number; logs?: Logs }, model: TrainingModel): void {
    const loss = info.logs?.loss;
    if (loss !== undefined && !Number.isFinite(loss) && !this.stopped) {
      this.stopped = { epoch: info.epoch, batch, loss };
      model.stopTraining = true;
    }
  }

  onEpochEnd(epoch: number, logs: Logs, model: TrainingModel): void {
    if (!Number.isFinite(logs.loss) && !this.stopped) {
      this.stopped = { epoch, batch: null, loss: logs.loss };
      model.stopTraining = true;
    }
  }

  stopReason(): TrainingStop | null {
    const s = this.stopped;
    return s && { by: 'terminateOnNaN', epoch: s.epoch, reason: `the loss became ${s.loss} ${seenAt(s)}` };
  }
}

/** Where a loss was seen: `in epoch 2, after batch 40` or `at the end of epoch 2` (1-based, as the progress bar counts). */
function seenAt(s: { epoch: number; batch: number | null }): string {
  return s.batch === null ? `at the end of epoch ${s.epoch + 1}` : `in epoch ${s.epoch + 1}, after batch ${s.batch + 1}`;
}

export function terminateOnNaN(): TerminateOnNaN {
  return new TerminateOnNaN();
}

const DIVERGENCE_OPTIONS = defineOptions('terminateOnDivergence', {
  factor: opt.number('how many times its start the training loss may grow to before the run counts as diverged (default 10)', { min: 1, minExclusive: true }),
  minStart: opt.number('a start below this counts as this, so that noise around a loss near 0 is not growth (default 0.1)', { min: 0 }),
}, { min_start: 'minStart' });

export type TerminateOnDivergenceOptions = OptionsOf<typeof DIVERGENCE_OPTIONS.spec>;

/** Where and how a run diverged. */
export interface Divergence {
  /** 0-based epoch. */
  readonly epoch: number;
  /** The batch (0-based) after which the loss was read, or null when seen at the epoch's end. */
  readonly batch: number | null;
  /** The loss that broke the rule: the running mean of the epoch so far, or the epoch's mean. */
  readonly loss: number;
  /** The first batch's loss, growth is measured from (null when the first loss read was already non-finite). */
  readonly start: number | null;
  /** 'non-finite': NaN or ±Infinity; 'growth': above factor × max(start, minStart). */
  readonly rule: 'non-finite' | 'growth';
  /** The rule with its numbers, one line. */
  readonly reason: string;
}

const num = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(Number(v.toPrecision(4))));

/**
 * Stops a run that blows up, not only one that turns NaN. The rule, on each
 * training loss fit() reads (the running mean of the epoch, about once per
 * logInterval, and every epoch's mean; fit also reads the first batch's, so no
 * per-step readback is added): the run diverged when the loss is NaN or
 * ±Infinity, or when it exceeds `factor` (10) × its start, the first batch's
 * loss, which no update has touched; a start under `minStart` (0.1) counts as
 * `minStart`. Relative, so a regression loss that starts at 1e9 may stay there;
 * floored, so a model that starts near 0 (trained on again) is not stopped by
 * noise. Why 10×: a loss at ten times the untrained model's is a model far
 * worse than its random start. Measured on the CLI's recipes (CPU, the
 * built-in digits and two CSVs; adam, sgd, rmsprop at their usual rates and
 * high ones), every run that learned stayed at or below 1.0× its start (a
 * regression at 4e8 moves slowly at first); the blow-ups reached 103×
 * (adam --lr 1, 244 after 46 batches) and 1e31× (sgd --lr 1e6). Either way the
 * weights are then useless: don't save them.
 */
export class TerminateOnDivergence implements Callback {
  readonly factor: number;
  readonly minStart: number;
  stopped: Divergence | null = null;
  private start: number | null = null;

  constructor(options: TerminateOnDivergenceOptions = {}) {
    options = DIVERGENCE_OPTIONS.check(options);
    this.factor = options.factor ?? 10;
    this.minStart = options.minStart ?? 0.1;
  }

  onTrainBegin(): void {
    this.stopped = null;
    this.start = null;
  }

  onBatchEnd(batch: number, info: { epoch: number; logs?: Logs }, model: TrainingModel): void {
    if (info.logs?.loss !== undefined) this.check(info.logs.loss, info.epoch, batch, model);
  }

  onEpochEnd(epoch: number, logs: Logs, model: TrainingModel): void {
    this.check(logs.loss, epoch, null, model);
  }

  stopReason(): TrainingStop | null {
    const s = this.stopped;
    return s && { by: 'terminateOnDivergence', epoch: s.epoch, reason: s.reason };
  }

  private check(loss: number, epoch: number, batch: number | null, model: TrainingModel): void {
    if (this.stopped) return;
    const at = { epoch, batch };
    if (!Number.isFinite(loss)) {
      this.stop(model, { ...at, loss, start: this.start, rule: 'non-finite', reason: `the loss became ${loss} ${seenAt(at)} (rule: a loss that is NaN or ±Infinity)` });
      return;
    }
    if (this.start === null) {
      this.start = loss;
      return;
    }
    const base = Math.max(this.start, this.minStart);
    if (loss > this.factor * base) {
      const from = base === this.start ? `the first batch's loss ${num(this.start)}` : `${num(base)} (the first batch's loss ${num(this.start)}, floored at minStart)`;
      this.stop(model, { ...at, loss, start: this.start, rule: 'growth', reason: `the loss reached ${num(loss)} ${seenAt(at)} (rule: more than ${this.factor} × ${from})` });
    }
  }

  private stop(model: TrainingModel, d: Divergence): void {
    this.stopped = d;
    model.stopTraining = true;
  }
}

export function terminateOnDivergence(options: TerminateOnDivergenceOptions = {}): TerminateOnDivergence {
  return new TerminateOnDivergence(options);
}
