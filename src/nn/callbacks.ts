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
}

export function terminateOnNaN(): TerminateOnNaN {
  return new TerminateOnNaN();
}
